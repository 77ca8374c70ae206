"""Every static text of the web hub in English and Spanish, for gr.I18n."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "# Lienzo\nGenerate, mix and learn how image models work.",
        "tab_generate": "Generate",
        "tab_mix": "Mix",
        "tab_history": "History",
        "prompt": "Prompt",
        "prompt_hint": "a red circle above a blue square --ar 16:9 --seed 7",
        "negative": "Negative prompt",
        "model": "Model",
        "aspect": "Aspect ratio",
        "steps": "Decoder steps",
        "prior_steps": "Prior steps (Kandinsky)",
        "guidance": "Guidance scale",
        "seed": "Seed",
        "randomize": "Random seed",
        "num_images": "Images",
        "scheduler": "Scheduler",
        "generate": "Generate",
        "enhance": "Enhance prompt",
        "output": "Result (grid, then each image)",
        "info": "Details",
        "advanced": "Advanced settings",
        "models_here": "Models and where they run",
        "mix_intro": "Mix up to 5 texts and images with weights: Kandinsky adds up their CLIP image embeddings.",
        "preset": "Preset",
        "slot_text": "Text",
        "slot_image": "Image",
        "weight": "Weight",
        "mix": "Mix",
        "weights_used": "Weights used",
        "describe": "Describe this image",
        "describe_out": "Candidate prompts",
        "history_intro": "Your past jobs in this browser. They are yours alone unless you share one: anyone with a "
        "shared job's id can open, reuse and vary it.",
        "shared": "Shared",
        "share": "Save sharing",
        "refresh": "Refresh",
        "jobs": "Jobs",
        "reuse": "Reuse these settings",
        "job_id": "Job id",
        "pnginfo": "PNG info: drop a PNG made by Lienzo, AUTOMATIC1111 or another tool",
        "png_file": "PNG file",
        "parameters": "Parameters",
        "send_to_generate": "Send to Generate",
        "language": "Language",
        "vary_subtle": "Vary (subtle)",
        "vary_strong": "Vary (strong)",
        "upscale": "Upscale ×2",
        "enhance_draft": "Enhance draft",
        "draft": "Draft (fast, few steps)",
        "live": "Live (redraw as you type)",
        "image_index": "Image number (1-4)",
        "tab_chat": "Chat tutor",
        "tab_compare": "Compare",
        "chat_intro": "Ask about GANs, VAEs, RNNs and LSTMs, transformers, autoregressive and diffusion models. "
        "Answers follow your language and cite the course notes.",
        "latent_dims": "Latent dimensions",
        "inputs_and_reconstructions": "Test digits (top) and reconstructions",
        "latent_space": "Latent space",
        "temperature": "Temperature",
        "next_char": "Next character",
        "samples": "Samples",
        "tab_autoregressive": "Autoregressive",
        "inside_the_model": "Inside: LSTM hidden state (units x characters) or attention (characters x characters)",
        "wavenet_intro": "### WaveNet\nDilated causal convolutions: each layer doubles its reach into the past.",
        "tab_explainer": "Learn",
        "data": "Data",
        "points": "Your points (x, y per line, for custom data)",
        "draw_points": "Or draw your data (custom): each stroke becomes points",
        "upload_points": "Or upload points (.csv or .txt, x, y per line)",
        "shipped": "Below: the shipped result of a run with the default settings (in brackets: its first frame → total "
        "time on 2 CPU cores). Press Train to retrain it from scratch and watch it learn.",
        "noise_size": "Noise size (z)",
        "d_steps": "D steps per G step",
        "loss": "Loss",
        "train": "Train",
        "real_vs_generated": "Real (grey) vs generated (orange)",
        "losses": "Losses",
        "coverage": "Ring mode coverage",
        "tab_diffusion": "Diffusion",
        "your_image": "Your image",
        "schedule": "Noise schedule",
        "diffusion2d_intro": "### A diffusion model trained live on 2-D points\nIt learns to predict the noise added to "
        "points of the data; sampling walks back from pure noise.",
        "train_steps": "Training steps",
        "trajectories": "Reverse trajectories: noise (t = T) to samples (t = 0)",
        "tab_walkthrough": "Pipeline walkthrough",
        "walkthrough_intro": "### The mini Kandinsky, stage by stage\nPrompt → tokens → CLIP text embedding → prior → "
        "image embedding → UNet denoising (decoded every few steps) → MoVQ decoder → image. The same seed gives the "
        "same image as the Generate tab.",
        "run": "Run",
        "tokens": "Tokens",
        "embeddings": "Embeddings (first 16 values)",
        "denoising": "Denoising steps",
        "final_image": "Final image",
        "train_pixelcnn": "PixelCNN: train",
        "train_wavenet": "WaveNet: train",
        "signal": "Signal and WaveNet's prediction",
        "walkthrough_prompt": "a red circle above a blue square",
        "axis_step": "step",
        "axis_loss": "loss",
        "axis_curve": "curve",
        "axis_mode": "mode",
        "axis_share": "share of a fair share",
        "axis_next": "next character",
        "axis_value": "value",
        "axis_series": "series",
        "axis_dim": "dimension",
        "axis_embedding": "embedding",
        "gan_stable": "stable",
        "gan_mode_collapse": "mode collapse",
        "schedule_linear": "linear",
        "schedule_cosine": "cosine",
        "text_en": "English text",
        "text_es": "Spanish text",
        "common": {"complete": "Complete", "error": "Error"},  # a screen reader's words Gradio 6.31 lacks
        "status": {"queue_position": "In queue: {position} of {size}"},  # Gradio's own, kept
        "chat_label": "Conversation with the tutor",
        "chat_box": "Your question",
        "chat_placeholder": "Ask a question about generative models...",
        "chat_no_model": "No language model runs here: answers quote the course notes.",
        "chat_example_1": "What is mode collapse?",
        "chat_example_2": "How does Kandinsky mix images?",
        "chat_example_3": "Why are a VAE's images blurry?",
        "preset_variation": "variation",
        "preset_image_fusion": "image fusion",
        "preset_fusion_with_text": "fusion with text",
        "mix_seed": "Seed (0 = random)",
        "tab_compare_arch": "Architectures",
        "architectures_md": """### The architectures side by side

| | models | samples by | speed | quality | typical uses | fails by |
|---|---|---|---|---|---|---|
| GAN | a generator fooled by a discriminator (no likelihood) | one forward pass from noise | fastest | sharp | faces, super-resolution, style transfer | mode collapse, unstable training |
| VAE | a latent variable model, trained on the ELBO | decoding a prior sample | fast | blurry | compression, latent spaces, anomaly detection | blur, posterior collapse |
| RNN / LSTM | a sequence, one step at a time through a hidden state | one token at a time | slow (sequential) | fine on short text | early language models, speech, time series | forgetting long-range structure, compounding errors |
| Transformer (GPT) | next token from all previous ones through attention | one token at a time | fast to train, sequential to sample | best for text | chat, code, translation | compounding errors, limited context |
| Autoregressive (PixelCNN, WaveNet) | exact likelihood as a product of conditionals | one pixel / sample at a time | very slow | sharp, locally coherent | audio (WaveNet), density estimation | slow sampling, compounding errors |
| Diffusion (Kandinsky, SD) | the reverse of a noising process | 25-100 denoising steps | slow sampling | best for images | text-to-image, editing, inpainting | slow sampling, layout and counting, text in images |""",
        "compare_md": """### Four text-to-image systems

| | DALL·E 3 | Midjourney | Stable Diffusion | Kandinsky 2.2 |
|---|---|---|---|---|
| Developer | OpenAI | Midjourney, Inc. | Stability AI and community | Sber AI (Kandinsky community on Hugging Face) |
| How it works | diffusion guided by detailed captions a language model rewrites | undisclosed diffusion model | latent diffusion: UNet on VAE latents attending to CLIP text tokens | prior (text embedding → CLIP image embedding) + UNet decoder on MoVQ latents |
| Ease of use | chat in ChatGPT; follows long prompts well | Discord or web; short prompts, strong house style | needs a UI (A1111, ComfyUI) or code; many knobs | code (diffusers) or a hub like this one; mixing images is built in |
| Freedom | closed weights, strict content policy | closed weights, moderation | open weights, run it anywhere, fine-tune it | open weights (Apache-2.0), run it anywhere |
| Price | in paid ChatGPT plans or per image by API | monthly subscription | free to run on your own GPU | free to run on your own GPU |
| Special strength | text in images, prompt following | aesthetics out of the box | ecosystem: LoRAs, ControlNet, inpainting | image + text mixing through one embedding |

Lienzo runs the two open ones: Stable Diffusion (SD 1.5, SDXL, SDXL-Turbo) and Kandinsky (2.1, 2.2), plus its own miniature Kandinsky offline.""",
    },
    "es": {
        "title": "# Lienzo\nGenera, mezcla y aprende cómo funcionan los modelos de imagen.",
        "tab_generate": "Generar",
        "tab_mix": "Mezclar",
        "tab_history": "Historial",
        "prompt": "Prompt",
        "prompt_hint": "un círculo rojo encima de un cuadrado azul --ar 16:9 --seed 7",
        "negative": "Prompt negativo",
        "model": "Modelo",
        "aspect": "Proporción",
        "steps": "Pasos del decodificador",
        "prior_steps": "Pasos del prior (Kandinsky)",
        "guidance": "Escala de guía",
        "seed": "Semilla",
        "randomize": "Semilla aleatoria",
        "num_images": "Imágenes",
        "scheduler": "Planificador",
        "generate": "Generar",
        "enhance": "Mejorar prompt",
        "output": "Resultado (cuadrícula y cada imagen)",
        "info": "Detalles",
        "advanced": "Ajustes avanzados",
        "models_here": "Modelos y dónde funcionan",
        "mix_intro": "Mezcla hasta 5 textos e imágenes con pesos: Kandinsky suma sus embeddings de imagen CLIP.",
        "preset": "Preajuste",
        "slot_text": "Texto",
        "slot_image": "Imagen",
        "weight": "Peso",
        "mix": "Mezclar",
        "weights_used": "Pesos usados",
        "describe": "Describir esta imagen",
        "describe_out": "Prompts candidatos",
        "history_intro": "Tus trabajos anteriores en este navegador. Son solo tuyos salvo que compartas uno: quien "
        "tenga el id de un trabajo compartido puede abrirlo, reutilizarlo y variarlo.",
        "shared": "Compartido",
        "share": "Guardar si se comparte",
        "refresh": "Actualizar",
        "jobs": "Trabajos",
        "reuse": "Reutilizar estos ajustes",
        "job_id": "Id del trabajo",
        "pnginfo": "Info PNG: suelta un PNG hecho con Lienzo, AUTOMATIC1111 u otra herramienta",
        "png_file": "Archivo PNG",
        "parameters": "Parámetros",
        "send_to_generate": "Enviar a Generar",
        "language": "Idioma",
        "vary_subtle": "Variar (sutil)",
        "vary_strong": "Variar (fuerte)",
        "upscale": "Ampliar ×2",
        "enhance_draft": "Mejorar borrador",
        "draft": "Borrador (rápido, pocos pasos)",
        "live": "En vivo (redibuja mientras escribes)",
        "image_index": "Número de imagen (1-4)",
        "tab_chat": "Tutor",
        "tab_compare": "Comparar",
        "chat_intro": "Pregunta por GAN, VAE, RNN y LSTM, transformers, modelos autorregresivos y de difusión. "
        "Responde en tu idioma y cita los apuntes.",
        "latent_dims": "Dimensiones latentes",
        "inputs_and_reconstructions": "Dígitos de prueba (arriba) y reconstrucciones",
        "latent_space": "Espacio latente",
        "temperature": "Temperatura",
        "next_char": "Siguiente carácter",
        "samples": "Muestras",
        "tab_autoregressive": "Autorregresivos",
        "inside_the_model": "Por dentro: estado oculto de la LSTM (unidades x caracteres) o atención (caracteres x caracteres)",
        "wavenet_intro": "### WaveNet\nConvoluciones causales dilatadas: cada capa duplica su alcance hacia el pasado.",
        "tab_explainer": "Aprender",
        "data": "Datos",
        "points": "Tus puntos (x, y por línea, para datos propios)",
        "draw_points": "O dibuja tus datos (propios): cada trazo se convierte en puntos",
        "upload_points": "O sube puntos (.csv o .txt, x, y por línea)",
        "shipped": "Abajo: el resultado incluido de una ejecución con los ajustes por defecto (entre corchetes: su primer fotograma → "
        "tiempo total con 2 núcleos de CPU). Pulsa Entrenar para entrenarlo desde cero y verlo aprender.",
        "noise_size": "Tamaño del ruido (z)",
        "d_steps": "Pasos de D por paso de G",
        "loss": "Pérdida",
        "train": "Entrenar",
        "real_vs_generated": "Reales (gris) y generados (naranja)",
        "losses": "Pérdidas",
        "coverage": "Cobertura de los modos del anillo",
        "tab_diffusion": "Difusión",
        "your_image": "Tu imagen",
        "schedule": "Planificación del ruido",
        "diffusion2d_intro": "### Un modelo de difusión entrenado en directo con puntos 2-D\nAprende a predecir el ruido "
        "añadido a los puntos; para muestrear recorre el camino inverso desde ruido puro.",
        "train_steps": "Pasos de entrenamiento",
        "trajectories": "Trayectorias inversas: del ruido (t = T) a las muestras (t = 0)",
        "tab_walkthrough": "El pipeline paso a paso",
        "walkthrough_intro": "### El Kandinsky en miniatura, etapa por etapa\nPrompt → tokens → embedding de texto CLIP → "
        "prior → embedding de imagen → UNet quitando ruido (decodificada cada pocos pasos) → decodificador MoVQ → imagen. "
        "La misma semilla da la misma imagen que la pestaña Generar.",
        "run": "Ejecutar",
        "tokens": "Tokens",
        "embeddings": "Embeddings (primeros 16 valores)",
        "denoising": "Pasos de eliminación de ruido",
        "final_image": "Imagen final",
        "train_pixelcnn": "PixelCNN: entrenar",
        "train_wavenet": "WaveNet: entrenar",
        "signal": "Señal y predicción de WaveNet",
        "walkthrough_prompt": "un círculo rojo encima de un cuadrado azul",
        "axis_step": "paso",
        "axis_loss": "pérdida",
        "axis_curve": "curva",
        "axis_mode": "modo",
        "axis_share": "parte de un reparto justo",
        "axis_next": "siguiente carácter",
        "axis_value": "valor",
        "axis_series": "serie",
        "axis_dim": "dimensión",
        "axis_embedding": "embedding",
        "gan_stable": "estable",
        "gan_mode_collapse": "colapso de modos",
        "schedule_linear": "lineal",
        "schedule_cosine": "coseno",
        "text_en": "texto en inglés",
        "text_es": "texto en español",
        "chat_label": "Conversación con el tutor",
        "chat_box": "Tu pregunta",
        "chat_placeholder": "Pregunta algo sobre los modelos generativos...",
        "chat_no_model": "Aquí no hay modelo de lenguaje: las respuestas citan los apuntes del curso.",
        "chat_example_1": "¿Qué es el colapso de modos?",
        "chat_example_2": "¿Cómo mezcla imágenes Kandinsky?",
        "chat_example_3": "¿Por qué son borrosas las imágenes de un VAE?",
        "preset_variation": "variación",
        "preset_image_fusion": "fusión de imágenes",
        "preset_fusion_with_text": "fusión con texto",
        "mix_seed": "Semilla (0 = aleatoria)",
        # Gradio's own texts its Spanish lacks (6.31): the footer's Runs, a screen reader's "complete"
        "common": {
            "runs": "Ejecuciones",
            "runs_description": "Ver las ejecuciones guardadas en este navegador",
            "complete": "Completado",
            "error": "Error",
        },
        "status": {"queue_position": "En cola: {position} de {size}"},
        "tab_compare_arch": "Arquitecturas",
        "architectures_md": """### Las arquitecturas lado a lado

| | modela | muestrea con | velocidad | calidad | usos típicos | falla por |
|---|---|---|---|---|---|---|
| GAN | un generador que engaña a un discriminador (sin verosimilitud) | una pasada desde ruido | la más rápida | nítida | caras, superresolución, transferencia de estilo | colapso de modos, entrenamiento inestable |
| VAE | un modelo de variable latente entrenado con la ELBO | decodificando una muestra de la a priori | rápida | borrosa | compresión, espacios latentes, detección de anomalías | borrosidad, colapso del posterior |
| RNN / LSTM | una secuencia, paso a paso con un estado oculto | un token cada vez | lenta (secuencial) | buena en textos cortos | primeros modelos de lenguaje, voz, series temporales | olvida la estructura larga, errores acumulados |
| Transformer (GPT) | el siguiente token a partir de todos los anteriores con atención | un token cada vez | rápido de entrenar, secuencial al muestrear | la mejor en texto | chat, código, traducción | errores acumulados, contexto limitado |
| Autorregresivo (PixelCNN, WaveNet) | verosimilitud exacta como producto de condicionales | un píxel / muestra cada vez | muy lenta | nítida, coherente localmente | audio (WaveNet), estimación de densidad | muestreo lento, errores acumulados |
| Difusión (Kandinsky, SD) | el inverso de un proceso de ruido | 25-100 pasos de eliminación de ruido | muestreo lento | la mejor en imágenes | texto a imagen, edición, inpainting | muestreo lento, composición y conteo, texto en la imagen |""",
        "compare_md": """### Cuatro sistemas de texto a imagen

| | DALL·E 3 | Midjourney | Stable Diffusion | Kandinsky 2.2 |
|---|---|---|---|---|
| Desarrollador | OpenAI | Midjourney, Inc. | Stability AI y la comunidad | Sber AI (comunidad Kandinsky en Hugging Face) |
| Cómo funciona | difusión guiada por descripciones detalladas que reescribe un modelo de lenguaje | modelo de difusión no publicado | difusión latente: UNet sobre latentes de un VAE que atiende a los tokens de texto de CLIP | prior (embedding de texto → embedding de imagen CLIP) + decodificador UNet sobre latentes MoVQ |
| Facilidad de uso | se chatea en ChatGPT; sigue bien prompts largos | Discord o web; prompts cortos, estilo propio marcado | necesita una interfaz (A1111, ComfyUI) o código; muchos ajustes | código (diffusers) o un hub como este; mezclar imágenes viene incluido |
| Libertad | pesos cerrados, política de contenidos estricta | pesos cerrados, moderación | pesos abiertos, se ejecuta en cualquier sitio y se puede ajustar | pesos abiertos (Apache-2.0), se ejecuta en cualquier sitio |
| Precio | en planes de pago de ChatGPT o por imagen vía API | suscripción mensual | gratis en tu propia GPU | gratis en tu propia GPU |
| Punto fuerte | texto dentro de la imagen, fidelidad al prompt | estética de serie | ecosistema: LoRA, ControlNet, inpainting | mezcla de imágenes y textos con un único embedding |

Lienzo ejecuta los dos abiertos: Stable Diffusion (SD 1.5, SDXL, SDXL-Turbo) y Kandinsky (2.1, 2.2), además de su propio Kandinsky en miniatura sin conexión.""",
    },
}


# What the server itself writes into a page (result details, captions, History's values, progress), in the
# visitor's language (demos.common.say): Gradio translates only the texts it was given at build time.
SAY: dict[str, dict[str, str]] = {
    "en": {
        "details": "**job** `{job}` · **model** {model} · **size** {size}",
        "seeds": "**seeds** {seeds}",
        "grid": "grid",
        "preview": "preview",
        "image": "{n} · seed {seed} · {size}",
        "queued": "queued: position {position}",
        "training": "training",
        "steps": "steps",
        "model_line": "Model: `{model}` ({status})",
        "models_table": "| model | runs here | why |",
        "yes": "yes",
        "no": "no",
        "why_bundled": "its weights come with Lienzo",
        "why_placeholder": "no trained weights here: an untrained stand-in draws noise-like images",
        "why_missing": "no weights here (`lienzo train-mini` makes them)",
        "col_id": "id",
        "col_kind": "kind",
        "col_status": "status",
        "col_model": "model",
        "col_prompt": "prompt",
        "col_seeds": "seeds",
        "col_when": "when",
        "col_shared": "shared",
        # the Learn tab's live notes, legends and captions
        "gan_note": "step {step}/{total} · {seconds:.1f} s",
        "gan_modes": " · modes covered {modes}/8 (baseline: a generator that outputs one point covers 1)",
        "diffusion_note": "step {step} · modes {modes}/8 · {share:.0%} of samples within 3σ of a centre (baseline: "
        "pure noise, about 4%)",
        "step": "step {step}",
        "vae_note": "step {step} · test reconstruction error {mse:.4f} per pixel · baseline PCA with {latent} "
        "dimensions: {pca:.4f}",
        "chars_note": "step {step} · validation {val:.2f} nats/char · bigram baseline {bigram:.2f}",
        "chars_probe": "p(')') after '(' and n characters: ",
        "pixelcnn_note": "step {step} · test {bits:.1f} bits per digit · baseline (independent pixels) {base:.1f}",
        "wavenet_note": "step {step}/{total} · next-sample error {mse:.4f} · baseline (repeat the last sample) "
        "{base:.4f} · receptive field {field} samples",
        "noise_note": "ᾱ_t = {a:.4f} · signal √ᾱ = {signal:.3f} · noise √(1-ᾱ) = {noise:.3f}",
        "walk_tokens": "**{n} tokens** (limit {limit})",
        "walk_cut": " · cut: ~~{cut}~~",
        "walk_cosine": "cosine(text embedding, prior's image embedding) = **{sim:.3f}** · baseline cosine(text "
        "embedding, black-image embedding) = {zero:.3f}",
        "signal": "signal",
        "text": "text",
        "image (prior)": "image (prior)",
        "samples": "samples",
        "pixel_probability": "p(pixel on) as it was drawn",
    },
    "es": {
        "details": "**trabajo** `{job}` · **modelo** {model} · **tamaño** {size}",
        "seeds": "**semillas** {seeds}",
        "grid": "cuadrícula",
        "preview": "vista previa",
        "image": "{n} · semilla {seed} · {size}",
        "queued": "en cola: posición {position}",
        "training": "entrenando",
        "steps": "pasos",
        "model_line": "Modelo: `{model}` ({status})",
        "models_table": "| modelo | se ejecuta aquí | por qué |",
        "yes": "sí",
        "no": "no",
        "why_bundled": "sus pesos vienen con Lienzo",
        "why_placeholder": "aquí no hay pesos entrenados: un sustituto sin entrenar dibuja imágenes como ruido",
        "why_missing": "aquí no hay pesos (`lienzo train-mini` los crea)",
        "col_id": "id",
        "col_kind": "tipo",
        "col_status": "estado",
        "col_model": "modelo",
        "col_prompt": "prompt",
        "col_seeds": "semillas",
        "col_when": "cuándo",
        "col_shared": "compartido",
        "gan_note": "paso {step}/{total} · {seconds:.1f} s",
        "gan_modes": " · modos cubiertos {modes}/8 (referencia: un generador que da un solo punto cubre 1)",
        "diffusion_note": "paso {step} · modos {modes}/8 · {share:.0%} de las muestras a menos de 3σ de un centro "
        "(referencia: ruido puro, un 4 %)",
        "step": "paso {step}",
        "vae_note": "paso {step} · error de reconstrucción en test {mse:.4f} por píxel · referencia PCA con {latent} "
        "dimensiones: {pca:.4f}",
        "chars_note": "paso {step} · validación {val:.2f} nats/carácter · referencia de bigramas {bigram:.2f}",
        "chars_probe": "p(')') tras '(' y n caracteres: ",
        "pixelcnn_note": "paso {step} · test {bits:.1f} bits por dígito · referencia (píxeles independientes) "
        "{base:.1f}",
        "wavenet_note": "paso {step}/{total} · error de la siguiente muestra {mse:.4f} · referencia (repetir la última "
        "muestra) {base:.4f} · campo receptivo de {field} muestras",
        "noise_note": "ᾱ_t = {a:.4f} · señal √ᾱ = {signal:.3f} · ruido √(1-ᾱ) = {noise:.3f}",
        "walk_tokens": "**{n} tokens** (límite {limit})",
        "walk_cut": " · cortado: ~~{cut}~~",
        "walk_cosine": "coseno(embedding de texto, embedding de imagen del prior) = **{sim:.3f}** · referencia: "
        "coseno(embedding de texto, embedding de una imagen negra) = {zero:.3f}",
        "signal": "señal",
        "text": "texto",
        "image (prior)": "imagen (prior)",
        "samples": "muestras",
        "pixel_probability": "p(píxel encendido) al dibujarlo",
    },
}
# History's values and a model's availability, word by word
WORDS: dict[str, dict[str, str]] = {
    "es": {
        "imagine": "imaginar",
        "vary": "variar",
        "upscale": "ampliar",
        "mix": "mezclar",
        "enhance": "mejorar",
        "expand": "ampliar prompt",
        "chat": "chat",
        "queued": "en cola",
        "running": "en curso",
        "done": "hecho",
        "failed": "fallido",
        "cancelled": "cancelado",
        "bundled": "incluido",
        "placeholder": "provisional",
        "cached": "en caché",
        "download": "se descarga",
        "offline": "sin conexión",
        "needs-gpu": "necesita GPU",
        "missing": "no está",
        # a job's progress stages and the lessons' loss curves
        "decoder": "decodificador",
        "discriminator": "discriminador",
        "generator": "generador",
        "reconstruction": "reconstrucción",
        "train": "entrenamiento",
        "denoiser": "eliminador de ruido",
        # the VAE's pictures, as the core captions them
        "decoded across the first two latent dimensions": "decodificado a lo largo de las dos primeras dimensiones "
        "latentes",
        "interpolation between two test digits": "interpolación entre dos dígitos de prueba",
        "test digits at their latent means": "dígitos de prueba en sus medias latentes",
    }
}


def lessons(texts_dir) -> dict[str, dict[str, str]]:
    """lesson_<topic> for each language, from the explainer's Markdown (the same texts the tutor cites)."""
    from pathlib import Path

    out: dict[str, dict[str, str]] = {}
    for path in sorted(Path(texts_dir).glob("*/*.md")):
        out.setdefault(path.parent.name, {})[f"lesson_{path.stem}"] = path.read_text(encoding="utf-8")
    return out
