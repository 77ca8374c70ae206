"""Every static text of the web hub in English and Spanish, for gr.I18n."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "# Lienzo\nGenerate, mix and learn how image models work.",
        "tab_generate": "Generate", "tab_mix": "Mix", "tab_history": "History",
        "prompt": "Prompt", "prompt_hint": "a red circle above a blue square --ar 16:9 --seed 7",
        "negative": "Negative prompt", "model": "Model", "aspect": "Aspect ratio",
        "steps": "Decoder steps", "prior_steps": "Prior steps (Kandinsky)", "guidance": "Guidance scale",
        "seed": "Seed", "randomize": "Random seed", "num_images": "Images", "scheduler": "Scheduler",
        "generate": "Generate", "enhance": "Enhance prompt", "output": "Result (grid, then each image)",
        "info": "Details", "advanced": "Advanced settings", "models_here": "Models and where they run",
        "mix_intro": "Mix up to 5 texts and images with weights: Kandinsky adds up their CLIP image embeddings.",
        "preset": "Preset", "slot_text": "Text", "slot_image": "Image", "weight": "Weight", "mix": "Mix",
        "weights_used": "Weights used", "describe": "Describe this image", "describe_out": "Candidate prompts",
        "history_intro": "Your past jobs in this browser session.", "refresh": "Refresh", "jobs": "Jobs",
        "reuse": "Reuse these settings", "job_id": "Job id", "pnginfo": "PNG info: drop a PNG made by Lienzo, "
        "AUTOMATIC1111 or another tool", "png_file": "PNG file", "parameters": "Parameters",
        "send_to_generate": "Send to Generate", "language": "Language",
        "vary_subtle": "Vary (subtle)", "vary_strong": "Vary (strong)", "upscale": "Upscale ×2",
        "image_index": "Image number (1-4)",
    },
    "es": {
        "title": "# Lienzo\nGenera, mezcla y aprende cómo funcionan los modelos de imagen.",
        "tab_generate": "Generar", "tab_mix": "Mezclar", "tab_history": "Historial",
        "prompt": "Prompt", "prompt_hint": "un círculo rojo encima de un cuadrado azul --ar 16:9 --seed 7",
        "negative": "Prompt negativo", "model": "Modelo", "aspect": "Proporción",
        "steps": "Pasos del decodificador", "prior_steps": "Pasos del prior (Kandinsky)",
        "guidance": "Escala de guía", "seed": "Semilla", "randomize": "Semilla aleatoria",
        "num_images": "Imágenes", "scheduler": "Planificador", "generate": "Generar", "enhance": "Mejorar prompt",
        "output": "Resultado (cuadrícula y cada imagen)", "info": "Detalles", "advanced": "Ajustes avanzados",
        "models_here": "Modelos y dónde funcionan",
        "mix_intro": "Mezcla hasta 5 textos e imágenes con pesos: Kandinsky suma sus embeddings de imagen CLIP.",
        "preset": "Preajuste", "slot_text": "Texto", "slot_image": "Imagen", "weight": "Peso", "mix": "Mezclar",
        "weights_used": "Pesos usados", "describe": "Describir esta imagen", "describe_out": "Prompts candidatos",
        "history_intro": "Tus trabajos anteriores en esta sesión del navegador.", "refresh": "Actualizar",
        "jobs": "Trabajos", "reuse": "Reutilizar estos ajustes", "job_id": "Id del trabajo",
        "pnginfo": "Info PNG: suelta un PNG hecho con Lienzo, AUTOMATIC1111 u otra herramienta",
        "png_file": "Archivo PNG", "parameters": "Parámetros", "send_to_generate": "Enviar a Generar",
        "language": "Idioma", "vary_subtle": "Variar (sutil)", "vary_strong": "Variar (fuerte)",
        "upscale": "Ampliar ×2", "image_index": "Número de imagen (1-4)",
    },
}
