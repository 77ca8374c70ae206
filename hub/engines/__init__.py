"""One file per pipeline family. Engines receive loaded components and run on the device's worker thread."""
