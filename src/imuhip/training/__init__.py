"""Guided training: programs of sets, holds and rests (:mod:`.program`) and the coach that
turns a running session's state into timed prompts (:mod:`.coach`)."""
