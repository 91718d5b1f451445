"""Programming language of a source file from its name (and, for scripts without an
extension, from its `#!` line).

Names follow GitHub linguist / The Stack ("C++", "C#", "Shell", "Dockerfile", ...). Only
known languages make documents (as in The Stack); the reader rejects the rest with
`unknown_language`. Ambiguous extensions take the common meaning: `.h` is C (C++ headers
are `.hpp`/`.hh`/`.hxx`), `.m` is Objective-C, `.pl` is Perl, `.v` is Verilog.
"""

from __future__ import annotations

import re

# Whole file names (case-sensitive first, then lower-cased lookup).
FILENAMES: dict[str, str] = {
    "Makefile": "Makefile",
    "makefile": "Makefile",
    "GNUmakefile": "Makefile",
    "Dockerfile": "Dockerfile",
    "Containerfile": "Dockerfile",
    "CMakeLists.txt": "CMake",
    "Rakefile": "Ruby",
    "Gemfile": "Ruby",
    "Vagrantfile": "Ruby",
    "Podfile": "Ruby",
    "Jenkinsfile": "Groovy",
    "BUILD": "Starlark",
    "BUILD.bazel": "Starlark",
    "WORKSPACE": "Starlark",
    "meson.build": "Meson",
    "SConstruct": "Python",
    "SConscript": "Python",
    ".bashrc": "Shell",
    ".bash_profile": "Shell",
    ".zshrc": "Shell",
    ".profile": "Shell",
    "configure.ac": "M4",
}

EXTENSIONS: dict[str, str] = {
    # systems
    ".c": "C",
    ".h": "C",
    ".cc": "C++",
    ".cpp": "C++",
    ".cxx": "C++",
    ".c++": "C++",
    ".hh": "C++",
    ".hpp": "C++",
    ".hxx": "C++",
    ".h++": "C++",
    ".ipp": "C++",
    ".inl": "C++",
    ".cu": "CUDA",
    ".cuh": "CUDA",
    ".rs": "Rust",
    ".go": "Go",
    ".zig": "Zig",
    ".nim": "Nim",
    ".d": "D",
    ".m": "Objective-C",
    ".mm": "Objective-C++",
    ".swift": "Swift",
    ".asm": "Assembly",
    ".s": "Assembly",
    ".S": "Assembly",
    ".f": "Fortran",
    ".f90": "Fortran",
    ".f95": "Fortran",
    ".f03": "Fortran",
    ".for": "Fortran",
    ".ada": "Ada",
    ".adb": "Ada",
    ".ads": "Ada",
    ".pas": "Pascal",
    ".v": "Verilog",
    ".sv": "SystemVerilog",
    ".vhd": "VHDL",
    ".vhdl": "VHDL",
    # JVM and .NET
    ".java": "Java",
    ".kt": "Kotlin",
    ".kts": "Kotlin",
    ".scala": "Scala",
    ".sc": "Scala",
    ".groovy": "Groovy",
    ".gradle": "Groovy",
    ".clj": "Clojure",
    ".cljs": "Clojure",
    ".cljc": "Clojure",
    ".edn": "Clojure",
    ".cs": "C#",
    ".fs": "F#",
    ".fsi": "F#",
    ".fsx": "F#",
    ".vb": "Visual Basic .NET",
    # scripting
    ".py": "Python",
    ".pyi": "Python",
    ".pyw": "Python",
    ".pyx": "Cython",
    ".pxd": "Cython",
    ".rb": "Ruby",
    ".rake": "Ruby",
    ".gemspec": "Ruby",
    ".php": "PHP",
    ".phtml": "PHP",
    ".pl": "Perl",
    ".pm": "Perl",
    ".t": "Perl",
    ".lua": "Lua",
    ".r": "R",
    ".R": "R",
    ".rmd": "RMarkdown",
    ".jl": "Julia",
    ".sh": "Shell",
    ".bash": "Shell",
    ".zsh": "Shell",
    ".ksh": "Shell",
    ".fish": "Fish",
    ".ps1": "PowerShell",
    ".psm1": "PowerShell",
    ".bat": "Batchfile",
    ".cmd": "Batchfile",
    ".tcl": "Tcl",
    ".awk": "Awk",
    ".vim": "Vim Script",
    ".el": "Emacs Lisp",
    ".lisp": "Common Lisp",
    ".lsp": "Common Lisp",
    ".cl": "Common Lisp",
    ".scm": "Scheme",
    ".ss": "Scheme",
    ".rkt": "Racket",
    # web
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".jsx": "JavaScript",
    ".ts": "TypeScript",
    ".mts": "TypeScript",
    ".cts": "TypeScript",
    ".tsx": "TypeScript",
    ".vue": "Vue",
    ".svelte": "Svelte",
    ".html": "HTML",
    ".htm": "HTML",
    ".xhtml": "HTML",
    ".css": "CSS",
    ".scss": "SCSS",
    ".sass": "Sass",
    ".less": "Less",
    ".coffee": "CoffeeScript",
    ".elm": "Elm",
    ".dart": "Dart",
    # functional
    ".hs": "Haskell",
    ".lhs": "Haskell",
    ".ml": "OCaml",
    ".mli": "OCaml",
    ".ex": "Elixir",
    ".exs": "Elixir",
    ".erl": "Erlang",
    ".hrl": "Erlang",
    ".purs": "PureScript",
    ".idr": "Idris",
    ".agda": "Agda",
    ".lean": "Lean",
    ".sml": "Standard ML",
    # data, query, config, docs
    ".sql": "SQL",
    ".graphql": "GraphQL",
    ".gql": "GraphQL",
    ".proto": "Protocol Buffer",
    ".thrift": "Thrift",
    ".json": "JSON",
    ".jsonc": "JSON",
    ".json5": "JSON5",
    ".yaml": "YAML",
    ".yml": "YAML",
    ".toml": "TOML",
    ".ini": "INI",
    ".cfg": "INI",
    ".xml": "XML",
    ".xsd": "XML",
    ".xsl": "XSLT",
    ".svg": "SVG",
    ".md": "Markdown",
    ".markdown": "Markdown",
    ".rst": "reStructuredText",
    ".tex": "TeX",
    ".sty": "TeX",
    ".bib": "BibTeX",
    ".org": "Org",
    ".adoc": "AsciiDoc",
    ".cmake": "CMake",
    ".mk": "Makefile",
    ".mak": "Makefile",
    ".dockerfile": "Dockerfile",
    ".tf": "HCL",
    ".hcl": "HCL",
    ".nix": "Nix",
    ".bzl": "Starlark",
    ".m4": "M4",
    ".ipynb": "Jupyter Notebook",
    ".sol": "Solidity",
    ".glsl": "GLSL",
    ".hlsl": "HLSL",
    ".wgsl": "WGSL",
    ".prisma": "Prisma",
}

# Prose/markup: the reader's minified check does not apply (one paragraph per line is normal).
PROSE_LANGUAGES: frozenset[str] = frozenset(
    {"Markdown", "reStructuredText", "TeX", "Org", "AsciiDoc", "RMarkdown", "BibTeX"}
)

# Data formats where long lines are normal in hand-written files too.
DATA_LANGUAGES: frozenset[str] = frozenset({"JSON", "JSON5", "YAML", "TOML", "XML", "SVG", "INI"})

# `#!` interpreters -> language, for executable scripts without an extension.
INTERPRETERS: dict[str, str] = {
    "python": "Python",
    "python2": "Python",
    "python3": "Python",
    "pypy": "Python",
    "pypy3": "Python",
    "sh": "Shell",
    "bash": "Shell",
    "dash": "Shell",
    "zsh": "Shell",
    "ksh": "Shell",
    "fish": "Fish",
    "perl": "Perl",
    "ruby": "Ruby",
    "node": "JavaScript",
    "nodejs": "JavaScript",
    "deno": "TypeScript",
    "lua": "Lua",
    "php": "PHP",
    "Rscript": "R",
    "julia": "Julia",
    "tclsh": "Tcl",
    "awk": "Awk",
    "gawk": "Awk",
    "escript": "Erlang",
    "elixir": "Elixir",
    "runghc": "Haskell",
    "ocaml": "OCaml",
    "pwsh": "PowerShell",
}

_SHEBANG = re.compile(rb"#![ \t]*(\S+)(?:[ \t]+(?:-\S+[ \t]+)*(\S+))?")


def language_from_name(name: str) -> str | None:
    """The language of a file from its base name (exact name, then extension; compound
    ".d.ts"-style suffixes fall back to the last extension); None when unknown."""
    base = name.rsplit("/", 1)[-1]
    if base in FILENAMES:
        return FILENAMES[base]
    lower = base.lower()
    if lower in FILENAMES:
        return FILENAMES[lower]
    if lower.startswith("dockerfile"):  # Dockerfile.dev, dockerfile.prod
        return "Dockerfile"
    if lower.startswith("makefile"):
        return "Makefile"
    dot = base.rfind(".")
    if dot <= 0 and not base.startswith("."):
        return None
    ext = base[dot:] if dot > 0 else base
    return EXTENSIONS.get(ext) or EXTENSIONS.get(ext.lower())


def language_from_shebang(head: bytes) -> str | None:
    """The language named by a `#!` first line ("#!/usr/bin/env python3", "#!/bin/sh")."""
    if not head.startswith(b"#!"):
        return None
    m = _SHEBANG.match(head.split(b"\n", 1)[0])
    if not m:
        return None
    program = m.group(1).rsplit(b"/", 1)[-1]
    if program == b"env" and m.group(2):
        program = m.group(2).rsplit(b"/", 1)[-1]
    name = program.decode("ascii", "replace")
    if name in INTERPRETERS:
        return INTERPRETERS[name]
    stripped = name.rstrip("0123456789.")  # python3.11, perl5
    return INTERPRETERS.get(stripped)


def language_count() -> int:
    """How many distinct languages the map knows (for tests and the docs)."""
    return len(set(EXTENSIONS.values()) | set(FILENAMES.values()) | set(INTERPRETERS.values()))
