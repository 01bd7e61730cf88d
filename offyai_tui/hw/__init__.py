"""Headless hardware knowledge, split by concern; import it through :mod:`offyai_tui.hw.hardware`.

``detect`` finds CPU, RAM and GPUs; ``fit`` turns a model's shape into memory needs and
a verdict; ``speed`` estimates decode speed; ``recommend`` picks catalog models per tier.
"""
