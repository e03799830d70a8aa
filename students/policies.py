"""Which requirement policy applies to an entry year: decided here and nowhere else.

The policy in force for entry year Y is the one with the latest `effective_from_entry_year`
on or before Y; an entry year older than every policy falls under the earliest one. With no
policy configured at all, asking raises `RequirementPolicy.DoesNotExist`.

`PolicyBook` reads the policies once and answers for any number of entry years (reports,
exports, progress over many students); `policy_for_entry_year` is the single-year form.

The reliability policy (信誉) is chosen by date instead: the row with the latest
`effective_from` on or before the day, else the earliest; with none configured, the model's
defaults (`reliability_policy_on`).
The safety policy (guards for minors: session hours, credit caps, consent) is effective by
date instead: the one in force on a day is the latest with `effective_from` on or before it
(`safety_policy_on`, or `SafetyPolicyBook` for many days).
"""

from datetime import date

from .models import ReliabilityPolicy, RequirementPolicy, SafetyPolicy


class PolicyBook:
    """Every requirement policy, read in one query on creation; answers per entry year."""

    def __init__(self) -> None:
        self.policies = list(RequirementPolicy.objects.order_by("effective_from_entry_year"))
        self._by_year: dict[int, RequirementPolicy] = {}

    def for_entry_year(self, entry_year: int) -> RequirementPolicy:
        """The policy in force for students who entered in `entry_year`."""
        if entry_year not in self._by_year:
            if not self.policies:
                raise RequirementPolicy.DoesNotExist("No requirement policy is configured.")
            earlier = [p for p in self.policies if p.effective_from_entry_year <= entry_year]
            self._by_year[entry_year] = earlier[-1] if earlier else self.policies[0]
        return self._by_year[entry_year]


def policy_for_entry_year(*, entry_year: int) -> RequirementPolicy:
    """The policy in force for an entry year: the latest one effective on or before it."""
    return PolicyBook().for_entry_year(entry_year)


def _in_force_on(policies: list, day: date):
    """Of policies effective by date (sorted by `effective_from`), the one in force on `day`: the
    latest effective on or before it; a day before every policy falls under the earliest one."""
    earlier = [policy for policy in policies if policy.effective_from <= day]
    return earlier[-1] if earlier else (policies[0] if policies else None)


def reliability_policy_on(day: date) -> ReliabilityPolicy:
    """The reliability policy in force on `day` (one query); the model's defaults if none."""
    policies = list(ReliabilityPolicy.objects.order_by("effective_from"))
    return _in_force_on(policies, day) or ReliabilityPolicy(effective_from=day)


class SafetyPolicyBook:
    """Every safety policy, read in one query on creation; answers per day."""

    def __init__(self) -> None:
        self.policies = list(SafetyPolicy.objects.order_by("effective_from"))

    def on(self, day: date) -> SafetyPolicy:
        """The safety policy in force on `day` (Asia/Shanghai): the latest effective on or
        before it; a day before every policy falls under the earliest one."""
        policy = _in_force_on(self.policies, day)
        if policy is None:
            raise SafetyPolicy.DoesNotExist("No safety policy is configured.")
        return policy


def safety_policy_on(*, day: date) -> SafetyPolicy:
    """The safety policy in force on a day: the latest one effective on or before it."""
    return SafetyPolicyBook().on(day)
