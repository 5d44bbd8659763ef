"""Datasets: the built-in GAN zoo, synthetic cameras and image folders."""

from ._camera import make_camera_images
from ._folder import load_image_folder
from ._zoo import load_gan_zoo, zoo_sources

__all__ = ["load_gan_zoo", "load_image_folder", "make_camera_images", "zoo_sources"]
