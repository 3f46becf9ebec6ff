"""Request handlers, shared by both dialects; each module owns one resource."""
