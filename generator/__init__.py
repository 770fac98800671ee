"""Realistic, messy sample data for dealer360: a dealer group's exports plus the truth.

from generator import generate_inbox
summary = generate_inbox(Path("demo/inbox"), people=3000, seed=42)
"""

from generator.inbox import GenerationSummary, generate_inbox

__all__ = ["GenerationSummary", "generate_inbox"]
