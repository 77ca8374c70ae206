"""The unCLIP prior's forward pass without the text's padding.

diffusers' PriorTransformer reads every prompt padded to the tokenizer's full length (32 tokens on the mini, 77 on
Kandinsky 2.2) and masks the padding out of attention. A padded token still costs its share of every linear layer
and of attention, while a prompt is a few words: "a red circle above a blue square" is 9 of the mini's 32.

`forward` runs the same layers on the tokens some row of the batch uses (the longest prompt's, padding after it
dropped) plus the four tokens the prior adds, each kept at its own position embedding. A masked key gets -10000
before the softmax, whose exponential is exactly 0 in float32 and bfloat16, and the text sits before the added
tokens under a causal mask, so no token the prediction reads changes: the result is the same up to the rounding
of matrix products of another shape (checked against diffusers' own forward in tests/hub/test_prior_trim.py).

Anything this does not know (no `prd_embedding`, positional embeddings shorter than the sequence, padding that is
not at the end of the text, offload hooks) goes to diffusers' forward unchanged."""

from __future__ import annotations

import torch


def keep_tokens(mask: torch.Tensor) -> int | None:
    """How many text tokens a batch needs (its longest prompt), or None when there is no padding to drop: a mask
    with ones after a zero (padding on the left, or holes) is left whole."""
    if mask.dtype != torch.bool:
        mask = mask.bool()
    used = int(mask.sum(1).max())
    if used >= mask.shape[1] or used == 0:
        return None
    counted = torch.arange(1, mask.shape[1] + 1, device=mask.device)
    if bool(mask[:, used:].any()) or not bool((mask.cumsum(1) == counted).eq(mask).all()):
        return None
    return used


def trims(prior) -> bool:
    """Whether `forward` knows this prior's layout (diffusers' PriorTransformer as unCLIP and Kandinsky build it) and
    may call its parts itself: not under accelerate's offload hooks (a small GPU's `offload`, hub/loading.py), which
    bring the weights to the device when the module itself is called."""
    cfg = prior.config
    return (
        getattr(prior, "prd_embedding", None) is not None
        and prior.positional_embedding.shape[1] == cfg.num_embeddings + prior.additional_embeddings
        and prior.additional_embeddings == 4
        and not any(hasattr(module, "_hf_hook") for module in prior.modules())
    )


def plan(prior, mask: torch.Tensor) -> int | None:
    """The text tokens `forward` keeps for this prior and mask, or None for diffusers' own forward. The mask is the
    same at every step of a sampling loop: work this out once before it, not at each step."""
    return keep_tokens(mask) if trims(prior) else None


def forward(prior, latents, timestep, proj_embedding, hidden, mask, keep: int | None) -> torch.Tensor:
    """prior(...).predicted_image_embedding, reading only the first `keep` text tokens (`plan`); all of them when
    `keep` is None."""
    if keep is None:
        return prior(
            latents, timestep=timestep, proj_embedding=proj_embedding, encoder_hidden_states=hidden, attention_mask=mask
        ).predicted_image_embedding
    n_text = prior.config.num_embeddings
    batch = latents.shape[0]
    t = timestep if torch.is_tensor(timestep) else torch.tensor([timestep], dtype=torch.long, device=latents.device)
    t = (t[None] if t.ndim == 0 else t).to(latents.device) * torch.ones(batch, dtype=torch.long, device=latents.device)
    time_emb = prior.time_embedding(prior.time_proj(t).to(dtype=prior.dtype))
    if prior.embedding_proj_norm is not None:
        proj_embedding = prior.embedding_proj_norm(proj_embedding)
    text = hidden[:, :keep]
    if prior.encoder_hidden_states_proj is not None:  # token by token: the same whether cut before or after
        text = prior.encoder_hidden_states_proj(text)
    x = torch.cat(
        [
            text,
            prior.embedding_proj(proj_embedding)[:, None, :],
            time_emb[:, None, :],
            prior.proj_in(latents)[:, None, :],
            prior.prd_embedding.to(latents.dtype).expand(batch, -1, -1),
        ],
        dim=1,
    )
    positions = torch.cat([torch.arange(keep), torch.arange(n_text, n_text + 4)]).to(latents.device)
    x = x + prior.positional_embedding.to(x.dtype)[:, positions]
    bias = (1 - mask[:, :keep].to(x.dtype)) * -10000.0
    bias = torch.nn.functional.pad(bias, (0, 4), value=0.0)
    causal = prior.causal_attention_mask[:, positions][:, :, positions]
    bias = (bias[:, None, :] + causal).to(x.dtype)
    heads = prior.config.num_attention_heads
    bias = bias.repeat_interleave(heads, dim=0, output_size=bias.shape[0] * heads)
    if prior.norm_in is not None:
        x = prior.norm_in(x)
    for block in prior.transformer_blocks:
        x = block(x, attention_mask=bias)
    return prior.proj_to_clip_embeddings(prior.norm_out(x)[:, -1])
