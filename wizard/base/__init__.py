"""The shared base every layer may use: the error family and exit codes (``errors``),
bounded YAML/JSON loading with line numbers (``yamlio``), host-name and argument
validation (``validate``), text rendering of flowchart texts (``textrender``), text
printed as typed (``safetext``), private files and folders (``privacy``) and where the
shipped files are (``resources``).

Owns nothing about IPsec, calls or front ends; imports nothing else of the wizard.
"""
