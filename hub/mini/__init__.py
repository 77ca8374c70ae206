"""The bundled miniature Kandinsky 2.2 and the tools that build it."""
