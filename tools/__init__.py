"""Developer tools that make the documentation's assets; the service never imports them."""
