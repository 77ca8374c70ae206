"""The prior read without its text's padding (hub/engines/prior.py) predicts what diffusers' own forward does."""

from __future__ import annotations

import pytest
import torch

from hub.engines.prior import forward, keep_tokens, plan


def _prior(**config):
    from diffusers import PriorTransformer

    torch.manual_seed(0)
    prior = PriorTransformer(**config).eval()
    with torch.no_grad():  # diffusers starts these at zero: random, so a wrong position or mask shows
        prior.positional_embedding.normal_(0, 1)
        prior.prd_embedding.normal_(0, 1)
    return prior


KANDINSKY_LIKE = dict(  # Kandinsky 2.2's layout (hub/published/kandinsky-2.2.json), its dimensions reduced
    num_attention_heads=2, attention_head_dim=16, num_layers=2, embedding_dim=32, num_embeddings=77
)
UNCLIP_NORMS = dict(KANDINSKY_LIKE, norm_in_type="layer", embedding_proj_norm_type="layer", time_embed_dim=48)


@pytest.mark.parametrize("config", [KANDINSKY_LIKE, UNCLIP_NORMS], ids=["kandinsky", "with-norms"])
def test_the_trimmed_prior_predicts_what_diffusers_forward_does(config):
    prior = _prior(**config)
    rows, dim, width = 6, config["embedding_dim"], prior.config.num_embeddings
    gen = torch.Generator().manual_seed(1)
    lengths = torch.tensor([3, 9, 5, 9, 1, 7])  # padding after each prompt; the longest is 9
    mask = torch.arange(width)[None, :] < lengths[:, None]
    hidden = torch.randn(rows, width, dim, generator=gen)
    args = (torch.randn(rows, dim, generator=gen), torch.tensor(412), torch.randn(rows, dim, generator=gen))
    with torch.no_grad():
        ours = forward(prior, args[0], args[1], args[2], hidden, mask, plan(prior, mask))
        theirs = prior(
            args[0], timestep=args[1], proj_embedding=args[2], encoder_hidden_states=hidden, attention_mask=mask
        ).predicted_image_embedding
        # and the padding is really left out: what it holds changes nothing
        noisy = torch.where(mask[..., None], hidden, torch.randn(hidden.shape, generator=gen) * 100)
        again = forward(prior, args[0], args[1], args[2], noisy, mask, plan(prior, mask))
    assert keep_tokens(mask) == 9
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(again, ours, rtol=1e-5, atol=1e-5)


def test_a_mask_that_is_not_padding_at_the_end_is_read_whole():
    full = torch.ones(2, 8, dtype=torch.bool)
    left = torch.tensor([[0, 0, 1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0, 0]], dtype=torch.bool)
    holes = torch.tensor([[1, 0, 1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0]], dtype=torch.bool)
    assert keep_tokens(full) is None and keep_tokens(left) is None and keep_tokens(holes) is None
    assert keep_tokens(torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]])) == 3


def test_a_prior_under_offload_hooks_is_called_whole_so_its_weights_come_to_the_device():
    """With model offload (a small GPU), accelerate moves the weights when the module itself is called."""
    from accelerate.hooks import ModelHook, add_hook_to_module

    class Seen(ModelHook):
        calls = 0

        def pre_forward(self, module, *args, **kwargs):
            Seen.calls += 1
            return args, kwargs

    prior = _prior(**KANDINSKY_LIKE)
    add_hook_to_module(prior, Seen())
    dim, width = KANDINSKY_LIKE["embedding_dim"], KANDINSKY_LIKE["num_embeddings"]
    mask = torch.arange(width)[None, :] < torch.tensor([[4], [2]])
    with torch.no_grad():
        latents, hidden = torch.randn(2, dim), torch.randn(2, width, dim)
        forward(prior, latents, torch.tensor(3), torch.randn(2, dim), hidden, mask, plan(prior, mask))
    assert Seen.calls == 1


def test_the_minis_prior_trimmed_matches_its_whole_forward():
    """On the bundled mini, its prompts encoded as the engine encodes them: most of its 32 tokens are padding."""
    from diffusers import KandinskyV22PriorPipeline

    from hub.catalog import BUNDLED_ROOT

    pipe = KandinskyV22PriorPipeline.from_pretrained(BUNDLED_ROOT / "prior", torch_dtype=torch.float32)
    texts = ["a red circle above a blue square", "", "un gato"]
    width = pipe.prior.config.num_embeddings
    tok = pipe.tokenizer(texts, padding="max_length", max_length=width, truncation=True, return_tensors="pt")
    with torch.no_grad():
        out = pipe.text_encoder(tok.input_ids)
        embeds, hidden, mask = out.text_embeds, out.last_hidden_state, tok.attention_mask.bool()
        latents = torch.randn(3, pipe.prior.config.embedding_dim, generator=torch.Generator().manual_seed(2))
        t = torch.tensor(500)
        ours = forward(pipe.prior, latents, t, embeds, hidden, mask, plan(pipe.prior, mask))
        theirs = pipe.prior(
            latents, timestep=t, proj_embedding=embeds, encoder_hidden_states=hidden, attention_mask=mask
        ).predicted_image_embedding
    assert keep_tokens(mask) is not None and keep_tokens(mask) <= 12
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
