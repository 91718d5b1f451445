"""Shim for tools that want a setup.py (Beam's --setup_file); the project is pyproject.toml."""

from setuptools import setup

setup()
