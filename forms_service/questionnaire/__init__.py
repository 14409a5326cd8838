"""Questionnaire definitions: the model (pure) and the YAML loader."""

from .loader import (
    LoadedDefinition,
    find_definitions,
    known_definitions,
    load_definition,
    shipped_definitions,
)
from .model import FieldSpec, FieldType, Question, Questionnaire, QuestionType, Variant

__all__ = [
    "FieldSpec",
    "FieldType",
    "LoadedDefinition",
    "Question",
    "QuestionType",
    "Questionnaire",
    "Variant",
    "find_definitions",
    "known_definitions",
    "load_definition",
    "shipped_definitions",
]
