"""The threshold view layer: rules, evaluation, states and alert events."""
