"""The catalog layer: SQL files, the rows they return, and the functions that read them."""
