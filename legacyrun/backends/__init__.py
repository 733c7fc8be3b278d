"""Environment backends: docker (image), conda (py-rattler prefix + conda-lock.yml), venv (pip, hash-pinned).

Import the interface from `legacyrun.backends.base`; the concrete backends load their heavy libraries lazily.
"""
