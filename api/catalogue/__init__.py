"""The public catalogue of projects, owners and credit kinds."""
