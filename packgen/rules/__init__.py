"""The plan for each member: the member's own choice, else the first rule that holds, else the default."""

from packgen.rules.ruleset import Assignment, RuleCheck, RuleSet, assign_plans, rule_set

__all__ = ["Assignment", "RuleCheck", "RuleSet", "assign_plans", "rule_set"]
