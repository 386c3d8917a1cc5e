"""Import adapters: published generators' own output folders, read as generators named ``import:<source>``."""
