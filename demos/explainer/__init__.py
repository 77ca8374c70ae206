"""The Learn tab's shipped results (see shipped.py); the teaching models themselves live in hub/explainer."""
