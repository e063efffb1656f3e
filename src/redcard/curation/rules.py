"""The curation thresholds, read from settings once per call site (docs/curation.md)."""

from __future__ import annotations

from dataclasses import dataclass

from redcard.config import Settings, get_settings


@dataclass(frozen=True, slots=True)
class Rules:
    min_score: float  # the community score a store needs
    min_reviews: int  # visible reviews a store needs
    prior_reviews: float  # the score's shrinkage toward the city mean, in reviews
    half_life_days: int  # a review's weight halves with each this many days
    inspection_max_days: int  # a passing inspection counts this many days

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            min_score=settings.curation_min_score,
            min_reviews=settings.curation_min_reviews,
            prior_reviews=settings.curation_prior_reviews,
            half_life_days=settings.curation_half_life_days,
            inspection_max_days=settings.curation_inspection_max_days,
        )


def current_rules() -> Rules:
    """The process's settings' rules (the app, the worker and the CLI read the same env)."""
    return Rules.of(get_settings())
