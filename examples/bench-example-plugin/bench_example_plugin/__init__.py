"""An example bench plugin. Nothing here is imported by bench until a name from its entry points is used."""
