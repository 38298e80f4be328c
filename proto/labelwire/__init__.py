"""labelwire: a gRPC labeling backend with pluggable workforces."""

__version__ = "0.1.0"
