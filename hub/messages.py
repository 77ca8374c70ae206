"""The core's messages in Spanish: what a user can be told (errors, notes on a result), by pattern.

The core writes its messages in English, with the values that make them useful (an id, a limit, the flag
that was wrong). A front end that knows its user's language passes each message through `in_language`: a
message that matches one of the patterns below comes back in that language with the same values; any other
comes back as it was (a test keeps the messages users meet most covered)."""

from __future__ import annotations

import re

# the "what" in image and text messages (hub.service names each input it checks)
_NOUNS = {
    "the image to describe": "la imagen a describir",
    "the picture to noise": "la imagen a la que añadir ruido",
    "image": "la imagen",
    "prompt": "el prompt",
    "negative prompt": "el prompt negativo",
    "question": "la pregunta",
    "message": "el mensaje",
    "mask": "la máscara",
}
_NUMBERED = [
    (re.compile(r"mix image (\d+)"), "la imagen {0} de la mezcla"),
    (re.compile(r"image prompt (\d+)"), "la imagen {0} del prompt"),
    (re.compile(r"the image at (.+)"), "la imagen de {0}"),
]


def _noun(text: str) -> str:
    if text in _NOUNS:
        return _NOUNS[text]
    for pattern, spanish in _NUMBERED:
        m = pattern.fullmatch(text)
        if m:
            return spanish.format(*m.groups())
    return text


# (English message as a regex with named groups, Spanish template); the first that matches the whole message wins
_ES: list[tuple[str, str]] = [
    # jobs
    (
        r"no job with id (?P<id>.+) that you can open \(check the id; jobs of other people can be opened only when "
        r"they share them\)",
        "no hay ningún trabajo con id {id} que puedas abrir (comprueba el id; los trabajos de otras personas solo se "
        "pueden abrir si los comparten)",
    ),
    (
        r"no job id given: paste the id of one of your jobs \(History lists them\)",
        "no has dado ningún id: pega el id de uno de tus trabajos (el Historial los muestra)",
    ),
    (
        r"job (?P<id>\S+) is shared with you, but only its owner \(or an admin\) can change it",
        "el trabajo {id} está compartido contigo, pero solo su dueño (o un administrador) puede cambiarlo",
    ),
    (
        r"job (?P<id>\S+) has no finished images \(status: (?P<status>\w+)\)",
        "el trabajo {id} no tiene imágenes terminadas (estado: {status})",
    ),
    (
        r"image (?P<n>\d+) is out of range: job (?P<id>\S+) has images 1-(?P<last>\d+)",
        "la imagen {n} no existe: el trabajo {id} tiene las imágenes 1-{last}",
    ),
    (
        r"job (?P<id>\S+) is not a draft, so it is at full quality already; Enhance redraws drafts \(made with "
        r"--draft or the Draft switch\): vary or upscale this one instead",
        "el trabajo {id} no es un borrador, así que ya tiene la calidad completa; Mejorar redibuja borradores (hechos "
        "con --draft o el interruptor Borrador): varía o amplía este",
    ),
    (
        r"you have (?P<n>\d+) jobs? queued or running \(the limit is (?P<limit>\d+)\); wait for one to finish or "
        r"cancel one",
        "tienes {n} trabajo(s) en cola o en curso (el límite es {limit}); espera a que termine uno o cancela uno",
    ),
    (
        r"the queue is full \((?P<n>\d+) jobs waiting, the maximum is (?P<max>\d+)\); try again in a minute",
        "la cola está llena ({n} trabajos esperando, el máximo es {max}); prueba de nuevo en un minuto",
    ),
    (
        r"the job could not be saved \(the server's storage is full or failing\), so it was not queued; try again "
        r"later",
        "no se pudo guardar el trabajo (el almacenamiento del servidor está lleno o falla), así que no entró en la "
        "cola; prueba más tarde",
    ),
    (r"cancelled", "cancelado"),
    # prompts and settings
    (
        r"prompt: the prompt is empty; write what to draw \(flags alone are not enough\)",
        "prompt: el prompt está vacío; escribe qué dibujar (las opciones solas no bastan)",
    ),
    (r"the prompt is empty; write what to draw", "el prompt está vacío; escribe qué dibujar"),
    (r"the prompt to expand is empty", "el prompt a ampliar está vacío"),
    (r"write a question first", "escribe antes una pregunta"),
    (r"the message is empty", "el mensaje está vacío"),
    (
        r"(?P<what>.+?) is (?P<n>[\d,]+) characters long; at most (?P<limit>[\d,]+) characters",
        "{what}: tiene {n} caracteres; como mucho {limit}",
    ),
    (r"(?P<what>.+?) must be text", "{what} debe ser texto"),
    (
        r"(?P<flag>--\S+): unknown flag; Lienzo understands (?P<known>.+)",
        "{flag}: opción desconocida; Lienzo entiende {known}",
    ),
    (
        r"(?P<flag>--\S+) (?P<value>.+) is not valid: width:height as whole numbers, e\.g\. 16:9, between "
        r"(?P<low>\S+) and (?P<high>\S+)",
        "{flag} {value} no es válido: ancho:alto en números enteros, p. ej. 16:9, entre {low} y {high}",
    ),
    (
        r"(?P<flag>--\S+) (?P<value>.+) is not valid: a whole number from (?P<low>\S+) to (?P<high>\S+)",
        "{flag} {value} no es válido: un número entero de {low} a {high}",
    ),
    (
        r"(?P<flag>--\S+): needs a value: (?P<allowed>.+)",
        "{flag}: necesita un valor: {allowed}",
    ),
    (
        r"(?P<flag>--\S+)(?: (?P<value>.+))?: given more than once; give each flag once",
        "{flag}: aparece más de una vez; da cada opción una sola vez",
    ),
    (
        r"(?P<name>\w+) (?P<value>\S+) is out of range for (?P<model>\S+): (?P<low>\S+) to (?P<high>\S+) pixels "
        r"\(rounded up to a multiple of (?P<m>\d+)\)",
        "{name} {value} está fuera del rango de {model}: de {low} a {high} píxeles (redondeado al múltiplo de {m})",
    ),
    (
        r"(?P<name>\w+) (?P<value>\S+) is out of range for (?P<model>\S+): (?P<low>\S+) to (?P<high>\S+)",
        "{name} {value} está fuera del rango de {model}: de {low} a {high}",
    ),
    (
        r"(?P<name>[\w ]+?) (?P<value>\S+) is out of range: (?P<low>\S+) to (?P<high>\S+)",
        "{name} {value} está fuera de rango: de {low} a {high}",
    ),
    (
        r"(?P<name>[\w ]+?) (?P<value>\S+) is not valid: (?P<low>\d+) to (?P<high>\d+)",
        "{name} {value} no es válido: de {low} a {high}",
    ),
    (
        r"(?P<name>[\w ]+?) must be a number from (?P<low>\S+) to (?P<high>\S+)",
        "{name} debe ser un número de {low} a {high}",
    ),
    (r"(?P<name>[\w ]+?) must be a whole number", "{name} debe ser un número entero"),
    (r"case (?P<value>.+) is not one of (?P<choices>.+)", "el caso {value} no es uno de estos: {choices}"),
    (
        r"job (?P<id>\S+) \((?P<kind>\w+)\) starts from another picture; Explain this image follows images drawn from "
        r"words alone: explain the job it came from",
        "el trabajo {id} ({kind}) parte de otra imagen; Explicar esta imagen sigue imágenes dibujadas solo a partir de "
        "palabras: explica el trabajo del que viene",
    ),
    (
        r"job (?P<id>\S+) mixed in pictures, which are not kept with the job; Explain this image follows images drawn "
        r"from words alone",
        "el trabajo {id} mezcló imágenes, que no se guardan con el trabajo; Explicar esta imagen sigue imágenes "
        "dibujadas solo a partir de palabras",
    ),
    (
        r"job (?P<id>\S+) stopped early \(--stop\); Explain this image needs every step",
        "el trabajo {id} se paró antes de tiempo (--stop); Explicar esta imagen necesita todos los pasos",
    ),
    (r"language (?P<value>.+) is not one of en, es", "el idioma {value} no es uno de estos: en, es"),
    (
        r"scheduler (?P<value>.+) is not valid: choose one of (?P<choices>.+)",
        "el planificador {value} no es válido: elige uno de {choices}",
    ),
    (
        r"model (?P<model>.+) cannot (?P<what>\w+); models that can: (?P<able>.+)",
        "el modelo {model} no puede hacer {what}; modelos que sí: {able}",
    ),
    (
        r"this model cannot mix images or weighted texts \(:: weights\); use a Kandinsky model",
        "este modelo no mezcla imágenes ni textos con peso (pesos ::); usa un modelo Kandinsky",
    ),
    (
        r"(?P<w>\d+)x(?P<h>\d+) upscaled (?P<f>\d)x would be (?P<w2>\d+)x(?P<h2>\d+); (?P<model>\S+) goes up to "
        r"(?P<max>\d+) px a side",
        "{w}x{h} ampliada {f}x sería {w2}x{h2}; {model} llega a {max} px por lado",
    ),
    # mixing
    (
        r"slot (?P<n>\d) has both a text and an image; keep one",
        "la casilla {n} tiene un texto y una imagen; deja solo uno",
    ),
    (
        r"put a text or an image \(with a weight above 0\) in at least one slot",
        "pon un texto o una imagen (con peso mayor que 0) en al menos una casilla",
    ),
    (r"the mix weights must add up to more than 0", "los pesos de la mezcla deben sumar más de 0"),
    (r"mix item (?P<n>\d+) is an empty text", "el elemento {n} de la mezcla es un texto vacío"),
    # images
    (r"drop an image to describe first", "suelta antes una imagen para describirla"),
    (r"drop an image first", "suelta antes una imagen"),
    (r"drop a PNG file first", "suelta antes un archivo PNG"),
    (r"read a PNG's parameters first", "lee antes los parámetros de un PNG"),
    (
        r"send the image as a file \(gradio_client: handle_file\(path\)\), not as inline base64",
        "envía la imagen como archivo (gradio_client: handle_file(ruta)), no como base64 en línea",
    ),
    (
        r"(?P<what>.+?) is not a readable image \(damaged, cut short, or not an image\); allowed: (?P<allowed>.+)",
        "{what} no es una imagen legible (dañada, cortada o no es una imagen); se admiten: {allowed}",
    ),
    (r"(?P<what>.+?) is empty \(0 bytes\)", "{what} está vacía (0 bytes)"),
    (
        r"(?P<what>.+?) is (?P<size>[\d.]+) MiB; the limit is (?P<limit>[\d.]+) MiB",
        "{what} ocupa {size} MiB; el límite es {limit} MiB",
    ),
    (
        r"(?P<what>.+?) has too many pixels; the limit is (?P<limit>[\d,]+) pixels",
        "{what} tiene demasiados píxeles; el límite es {limit} píxeles",
    ),
    (
        r"(?P<what>.+?) is (?P<w>\d+)x(?P<h>\d+) pixels; the limit is (?P<limit>[\d,]+) pixels \(about "
        r"(?P<side>\d+x\d+)\)",
        "{what} mide {w}x{h} píxeles; el límite es {limit} píxeles (unos {side})",
    ),
    (r"(?P<what>.+?) is (?P<format>\w+); allowed: (?P<allowed>.+)", "{what} es {format}; se admiten: {allowed}"),
    (
        r"this file is not a PNG: PNG info reads the parameters that image tools write into PNGs",
        "este archivo no es un PNG: Info PNG lee los parámetros que las herramientas de imagen escriben en los PNG",
    ),
    (
        r"this PNG is damaged or cut short, so its parameters cannot be read",
        "este PNG está dañado o cortado, así que no se pueden leer sus parámetros",
    ),
    (
        r"this PNG is cut short \(it does not end where a PNG ends\), and no parameters come before the cut",
        "este PNG está cortado (no termina donde termina un PNG) y no hay parámetros antes del corte",
    ),
    (
        r"this image carries no generation parameters \(no A1111 'parameters' text, ComfyUI workflow or InvokeAI "
        r"metadata\)",
        "esta imagen no lleva parámetros de generación (ni texto 'parameters' de A1111, ni flujo de ComfyUI, ni "
        "metadatos de InvokeAI)",
    ),
    # editing actions (hub.edits, Hub.vary_region / zoom_out / pan)
    (
        r"the mask is empty: paint over the part of the picture to repaint \(white = repaint\)",
        "la máscara está vacía: pinta encima de la parte de la imagen que quieres repintar (blanco = repintar)",
    ),
    (
        r"the mask covers (?P<share>\d+%) of the picture, which leaves nothing to keep: mark less \(up to "
        r"(?P<most>\d+%)\), or use Vary \(Strong\) to redraw it all",
        "la máscara cubre el {share} de la imagen y no deja nada que conservar: marca menos (hasta el {most}) o usa "
        "Variar (fuerte) para redibujarla entera",
    ),
    (
        r"zoom factor (?P<value>.+) is out of range: (?P<low>\S+) to (?P<high>\S+) \(1\.5 and 2 are the usual ones\)",
        "el factor de zoom {value} está fuera de rango: de {low} a {high} (1.5 y 2 son los habituales)",
    ),
    (
        r"pan direction (?P<value>.+) is not valid: left, right, up, down",
        "la dirección {value} no vale para desplazar: left (izquierda), right (derecha), up (arriba), down (abajo)",
    ),
    (
        r"the picture is (?P<size>\S+); panning (?P<dir>\w+) would make it (?P<new>\S+), past this model's "
        r"(?P<max>\d+) px a side: pan the other way, or zoom out instead",
        "la imagen mide {size}; desplazarla hacia {dir} la dejaría en {new}, más de los {max} px por lado de este "
        "modelo: desplázala hacia otro lado o aleja el zoom",
    ),
    (
        r"Vary \(Region\) takes a mask \(white = repaint\) or an area \(left, top-right, \.\.\.\), one",
        "Variar (zona) lleva una máscara (blanco = repintar) o una zona (left, top-right, ...), una de las dos",
    ),
    (
        r"area (?P<value>.+) is not valid: choose one of (?P<names>.+)",
        "la zona {value} no vale: elige una de {names}",
    ),
    (
        r"(?P<model>\S+) edits by words: write a prompt for this edit",
        "{model} edita con palabras: escribe un prompt para esta edición",
    ),
    (
        r"this prompt takes words, not image links: describe what to draw",
        "este prompt lleva palabras, no enlaces a imágenes: describe qué dibujar",
    ),
    (
        r"(?P<model>\S+)'s weights have no inpainting decoder, so it cannot repaint a region, zoom out or pan .*",
        "los pesos de {model} no tienen decodificador de inpainting, así que no puede repintar una zona, alejar el "
        "zoom ni desplazar la imagen",
    ),
    # notes on a result
    (
        r"the text encoder reads (?P<n>\d+) tokens: it never read (?P<cut>.+) \(put what matters first, or shorten "
        r"the prompt\)",
        "el codificador de texto lee {n} tokens: nunca leyó {cut} (pon primero lo importante o acorta el prompt)",
    ),
    (
        r"untrained placeholder: the mini model's trained weights are missing, so these images come from random "
        r"weights",
        "modelo provisional sin entrenar: faltan los pesos entrenados del mini, así que estas imágenes salen de pesos "
        "aleatorios",
    ),
    # where a model runs (hub.catalog)
    (
        r"needs a GPU with at least (?P<gib>\S+) GiB; none found \(LIENZO_DEVICE=cpu forces it onto the CPU, very "
        r"slowly\)",
        "necesita una GPU de al menos {gib} GiB; no hay ninguna (LIENZO_DEVICE=cpu la fuerza a la CPU, muy despacio)",
    ),
    (
        r"needs about (?P<gib>\S+) GiB of GPU memory \((?P<half>\S+) GiB with offload\); this GPU has (?P<has>\S+) GiB",
        "necesita unos {gib} GiB de memoria de GPU ({half} GiB con offload); esta GPU tiene {has} GiB",
    ),
    (r"weights found in the local Hugging Face cache", "pesos encontrados en la caché local de Hugging Face"),
    (
        r"needs a download from the Hugging Face Hub, and this machine is offline \(HF_HUB_OFFLINE=1 or the Hub is "
        r"unreachable\)",
        "hay que descargarlo del Hugging Face Hub y esta máquina está sin conexión (HF_HUB_OFFLINE=1 o el Hub no "
        "responde)",
    ),
    (r"downloads from the Hugging Face Hub on first use", "se descarga del Hugging Face Hub la primera vez"),
    # the web's own checks
    (
        r"points must be lines of 'x, y' numbers, e\.g\. 1\.5, -0\.5",
        "los puntos deben ser líneas de números 'x, y', p. ej. 1.5, -0.5",
    ),
    (r"give at least 3 points, one 'x, y' per line", "da al menos 3 puntos, uno 'x, y' por línea"),
    (
        r"for custom data, draw, upload or type at least 3 points",
        "para datos propios, dibuja, sube o escribe al menos 3 puntos",
    ),
]
_COMPILED = {"es": [(re.compile(pattern, re.DOTALL), spanish) for pattern, spanish in _ES]}


def in_language(message: str, lang: str) -> str:
    """`message` in `lang` ("en" or "es"): translated when a pattern knows it, else as it was."""
    for pattern, template in _COMPILED.get(lang, ()):
        m = pattern.fullmatch(message)
        if m:
            values = {k: _noun(v) if v is not None else "" for k, v in m.groupdict().items()}
            return template.format(**values)
    return message
