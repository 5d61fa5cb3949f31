"""Pure business rules: no faust, aiokafka, prometheus, environment, clock or global random."""
