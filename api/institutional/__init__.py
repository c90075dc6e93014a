"""Institutional credit purchases: ecological justice, tree planting, annual neutralisation."""
