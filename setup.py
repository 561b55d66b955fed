"""Builds the optional C extension ``producer.read.framing._jsonscan``; everything else is in
``pyproject.toml``.

``optional=True``: where no C compiler is available the install still succeeds and the producer uses its
pure-Python reading path (slower for big files); the producer logs which path it uses.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "producer.read.framing._jsonscan",
            sources=["producer/read/framing/_jsonscan.c"],
            depends=["producer/read/framing/_jsonscan_tokens.h", "producer/read/framing/_jsonscan_value.h"],
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
