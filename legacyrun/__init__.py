"""legacyrun: make legacy deep-learning research code run again, reproducibly."""

__version__ = "0.1.0"

__all__ = ["__version__"]
