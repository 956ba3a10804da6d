"""The version, in a leaf of its own: the adapters print it without importing the façade."""

__version__ = "0.1.0"
