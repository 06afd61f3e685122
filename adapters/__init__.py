"""Adapters: the hexagon's outside. Each subpackage implements domain ports with one technology."""
