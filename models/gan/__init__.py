"""Image-to-image models: the pix2pix/cycleGAN networks and the extractors built on them."""
