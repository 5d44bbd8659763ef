"""Datasets: synthetic cameras and image folders."""

from ._camera import make_camera_images
from ._folder import load_image_folder

__all__ = ["load_image_folder", "make_camera_images"]
