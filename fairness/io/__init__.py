"""Reading and writing: the matrix schema, validation with quarantine, reference populations, safe output paths."""
