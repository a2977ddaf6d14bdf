"""Rendering reports: the runner (lock, atomic folder swap, notebook execution, HTML/PDF) and table formatting."""
