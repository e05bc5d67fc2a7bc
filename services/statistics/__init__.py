"""services/statistics: counts by unit, period, category and dimension, fed by the topics."""
