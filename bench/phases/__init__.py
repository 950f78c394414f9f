"""One module per group of phases; each writes its figures into `run.results`."""
