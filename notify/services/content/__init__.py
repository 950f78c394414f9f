"""Templates and rendering, with the render budget that bounds them."""
