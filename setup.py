"""Builds the optional C extension ``producer._jsonscan``; everything else is in ``pyproject.toml``.

``optional=True``: where no C compiler is available the install still succeeds and the producer uses its
pure-Python reading path (slower for big files); the producer logs which path it uses.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "producer._jsonscan",
            sources=["producer/_jsonscan.c"],
            depends=["producer/_jsonscan_tokens.h", "producer/_jsonscan_value.h"],
            extra_compile_args=[
                "-Wall",
                "-Wextra",
                "-Wno-unused-parameter",
                "-Wno-missing-field-initializers",
            ],
            optional=True,
        )
    ]
)
