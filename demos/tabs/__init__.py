"""One module per tab, each exposing build(hub, t)."""
