"""The priority of payments, one scenario and one payment date at a time.

Written from the rule book ``docs/waterfall.md`` (section numbers below are its
steps), not from ``abs_engine/deal/engine.py``.  It runs on the reference's own
:class:`reference.spec.Spec`, which :func:`reference.spec.from_deal` reads field by
field from the engine's ``Deal``, and projects the collateral with
:mod:`reference.pool`.

Notation as in the rule book: ``B`` a class's interest-bearing balance, ``W`` its
unreimbursed write-down, ``C = B + W`` its claim, ``U`` its unpaid interest, ``D``
the deal's principal deficiency ledger, ``R`` the revenue pocket and ``P`` the
principal funds of the payment date.

Where the rule book leaves a choice open, the reading taken here is marked
``READING:`` in the code; the test docstrings and the report repeat them.  Beyond
issue 10's scope the reference refuses (``NotImplementedError``) rather than
guesses: post-default waterfalls in force, a seasoned ``state``, servicer
advancing, delinquency pipelines, graded assumptions, more than one equity class.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reference import calendar as rc
from reference import pool as rp
from reference.spec import Spec, from_deal

TRANCHE_FIELDS = (
    "begin_balance",
    "interest_due",
    "interest_paid",
    "interest_shortfall",
    "principal_paid",
    "writedown",
    "reinstatement",
    "unreimbursed_writedown",
    "pdl",
    "end_balance",
    "principal_loss",
    "residual",
)
FEE_FIELDS = ("due", "paid", "unpaid")
ACCOUNT_FIELDS = (
    "revenue",
    "principal_collections",
    "reserve_funding",
    "reserve_begin",
    "reserve_release",
    "reserve_draw",
    "reserve_deposit",
    "reserve_end",
    "reserve_target",
    "pdl",
    "cumulative_default",
    "purchase_cash",
    "residual",
    "excess_spread",
    "oc_collateral",
    "interest_after_fees",
)
POOL_FIELDS = (*rp.FLOWS, "purchases", "sale")


@dataclass
class Tranche:
    """A class of notes as the reference sees it."""

    name: str
    kind: str
    face: float
    rate: float
    steps: tuple[tuple[dt.date, float], ...]
    deferrable: bool
    rank: int
    accrues: bool  # deferred interest bears interest

    def coupon(self, accrual_start: dt.date) -> float:
        """The coupon of an accrual period starting on ``accrual_start`` (step-ups)."""
        rate = self.rate
        for d, r in self.steps:
            if accrual_start >= d:
                rate = r
        return rate

    @property
    def rated(self) -> bool:
        return self.kind != "equity"


@dataclass
class Result:
    """One scenario's run: lists over payment periods (``[class][period]`` for tranches)."""

    names: list[str]
    fee_names: list[str]
    trigger_names: list[str]
    dates: list[dt.date]
    tranche: dict[str, list[list[float]]]
    fee: dict[str, list[list[float]]]
    account: dict[str, list[float]]
    pool: dict[str, list[float]]
    trigger: list[list[bool]]
    ledger: list[tuple[int, str, str, str, float]]  # period, step, from, to, amount

    @property
    def n_periods(self) -> int:
        return len(self.dates)

    def t(self, field: str, name: str) -> list[float]:
        """A tranche field of the class called ``name``."""
        return self.tranche[field][self.names.index(name)]


def notes_from(spec: Spec, pool_balance: float) -> list[Tranche]:
    """The deal's classes with their face amounts (``size`` x cut-off pool, ``amount``, or the rest)."""
    faces: dict[str, float] = {}
    rest = None
    for t in spec.notes:
        if t.amount is not None:
            faces[t.name] = float(t.amount)
        elif t.size is not None:
            faces[t.name] = float(t.size) * pool_balance
        else:
            rest = t.name
    if rest is not None:
        faces[rest] = max(pool_balance - sum(faces.values()), 0.0)
    out = []
    for position, t in enumerate(spec.notes, start=1):
        deferrable = t.kind != "senior" if t.deferrable is None else t.deferrable
        out.append(
            Tranche(
                name=t.name,
                kind=t.kind,
                face=faces[t.name],
                rate=t.coupon,
                steps=t.coupon_steps,
                deferrable=deferrable,
                rank=position if t.rank is None else t.rank,
                accrues=t.deferred_interest_accrues,
            )
        )
    return out


def _steps(steps: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    return [_parse(s) for s in steps]


def _parse(text: str) -> tuple[str, tuple[str, ...]]:
    action, _, rest = text.strip().partition(":")
    return action.strip(), tuple(x.strip() for x in rest.split(",") if x.strip())


class Waterfall:
    """The state of one scenario between payment dates, and the steps of a payment date."""

    def __init__(self, deal: Spec, cohorts: Sequence[rp.Cohort], collateral: rp.Collateral) -> None:
        self.deal = deal
        self.collateral = collateral
        self.pool0 = sum(c.balance for c in cohorts)
        self.eps = 1e-9 * self.pool0  # READING: "zero" is below 1e-9 of the cut-off pool
        self.notes = notes_from(deal, self.pool0)
        self.n = len(self.notes)
        equity = [i for i, c in enumerate(self.notes) if c.kind == "equity"]
        if len(equity) != 1:
            raise NotImplementedError("the reference takes exactly one equity class")
        self.eq = equity[0]
        self.index = {c.name: i for i, c in enumerate(self.notes)}
        self.fees = list(deal.fees)
        self.fee_index = {f.name: j for j, f in enumerate(self.fees)}
        self.triggers = list(deal.triggers)
        d = deal.dates
        self.dates_all = rc.payment_dates(
            d.first_payment, d.legal_final, d.frequency, d.payment_day or d.first_payment.day
        )
        self.collects = rc.collected_months(d.cutoff, self.dates_all)
        if not self.collects[0]:
            raise ValueError(
                f"payment date {d.first_payment} collects no pool month after cut-off {d.cutoff}"
            )
        # The run's horizon: the period collecting the last month with possible cash
        # (longest term + recovery lag, extended by the last revolving purchase).
        last_month = rp.last_month_with_cash(cohorts, collateral)
        rv = deal.revolving
        if rv is not None:
            bought_in = self.collects[min(rv.periods, len(self.dates_all)) - 1][-1]
            longest = max(line.term for line in rv.template)
            last_month = max(last_month, bought_in + longest + collateral.lag)
        self.T = len(self.dates_all)
        for p, months in enumerate(self.collects, start=1):
            if months and months[-1] >= last_month:
                self.T = p
                break
        self.months = max(last_month, self.collects[self.T - 1][-1] + 1)
        self.flows = rp.project(cohorts, collateral, self.months)
        # State carried from one payment date to the next.
        self.B = [c.face for c in self.notes]
        self.W = [0.0] * self.n
        self.U = [0.0] * self.n
        self.fee_unpaid = [0.0] * len(self.fees)
        self.reserve = 0.0
        self.D = 0.0
        self.cumulative_default = 0.0
        self.bought = 0.0  # principal of receivables bought
        self.breached = [False] * len(self.triggers)
        self.excess_spread_history: list[float] = []
        self.called_in_month: int | None = None  # last pool month collected before a call
        self.ledger: list[tuple[int, str, str, str, float]] = []
        self.interest_steps = self._junior_interest_after_pdl(_steps(deal.interest))
        self.principal_steps = _steps(deal.principal)
        self.covered = self._covered()

    # --- set-up -------------------------------------------------------------------------------

    def _junior_interest_after_pdl(
        self, steps: list[tuple[str, tuple[str, ...]]]
    ) -> list[tuple[str, tuple[str, ...]]]:
        """Rule book step 7, last bullet: junior interest after ``cover_defaults``.

        READING: the interest steps of rated classes below the top rank move, in their
        order, to just after ``cover_defaults`` (idempotent if they are already there).
        """
        if not self.deal.junior_interest_after_pdl:
            return steps
        names = [a for a, _ in steps]
        if "cover_defaults" not in names:
            return steps
        top = min(c.rank for c in self.notes if c.rated)

        def junior(step: tuple[str, tuple[str, ...]]) -> bool:
            action, targets = step
            if action != "interest":
                return False
            ranks = {self.notes[self.index[x]].rank for x in targets}
            rated = all(self.notes[self.index[x]].rated for x in targets)
            if len(ranks) > 1 and top in ranks:
                raise NotImplementedError("an interest step mixing the top rank and others")
            return rated and min(ranks) > top

        moved = [s for s in steps if junior(s)]
        kept = [s for s in steps if not junior(s)]
        k = [a for a, _ in kept].index("cover_defaults")
        return [*kept[: k + 1], *moved, *kept[k + 1 :]]

    def _covered(self) -> set[tuple[str, str]]:
        """``reserve.covers``: (``fee``, name) and (``interest``, class) the reserve pays short.

        Default: every fee and the interest of every non-deferrable class.
        """
        r = self.deal.reserve
        if r is None:
            return set()
        if not r.covers:
            return {("fee", f.name) for f in self.fees} | {
                ("interest", c.name) for c in self.notes if not c.deferrable
            }
        out = set()
        for text in r.covers:
            action, targets = _parse(text)
            out |= {(action, x) for x in targets}
        return out

    # --- helpers -------------------------------------------------------------------------------

    def book(self, step: str, src: str, dst: str, amount: float) -> None:
        if amount != 0.0:
            self.ledger.append((self.p, step, src, dst, amount))

    def claim(self, i: int) -> float:
        return self.B[i] + self.W[i]

    def by_rank(self, members: Sequence[int], reverse: bool = False) -> list[list[int]]:
        """Groups of equal rank, most senior first (most junior first with ``reverse``)."""
        ranks = sorted({self.notes[i].rank for i in members}, reverse=reverse)
        return [[i for i in members if self.notes[i].rank == r] for r in ranks]

    def pro_rata_leaves_pdl(self, members: Sequence[int], funds: float) -> bool:
        """Would paying ``members`` pro rata from ``funds`` leave one of them with a PDL share
        (``D`` allocated to the claims most junior rank first) while a more junior member is
        paid?"""
        total = sum(self.B[i] for i in members)
        x = min(funds, total)
        if x <= 0:
            return False
        paid = {i: x * self.B[i] / total for i in members}
        claims = [self.claim(i) - paid.get(i, 0.0) for i in range(len(self.notes))]
        left, share = self.D, [0.0] * len(self.notes)
        for group in self.by_rank(range(len(self.notes)), reverse=True):
            total_c = sum(claims[i] for i in group)
            take = min(max(left, 0.0), total_c)
            left -= take
            for i in group:
                share[i] = take * claims[i] / total_c if total_c > 0 else 0.0
        rank = {i: self.notes[i].rank for i in members}
        return any(
            share[i] > self.eps and paid[j] > 0 and rank[j] > rank[i]
            for i in members
            for j in members
        )

    def effects(self) -> set[str]:
        """Effects in force this period: those of triggers breached at the last period's end."""
        out: set[str] = set()
        for tg, hit in zip(self.triggers, self.breached, strict=True):
            if hit:
                out |= set(tg.effects)
        return out

    # --- one payment date ---------------------------------------------------------------------------

    def period(self, p: int) -> dict[str, Any]:
        self.p = p
        deal = self.deal
        notes = self.notes
        n = self.n
        rec: dict[str, Any] = {
            "tranche": {f: [0.0] * n for f in TRANCHE_FIELDS},
            "fee": {f: [0.0] * len(self.fees) for f in FEE_FIELDS},
            "account": dict.fromkeys(ACCOUNT_FIELDS, 0.0),
            "pool": dict.fromkeys(POOL_FIELDS, 0.0),
        }
        tr, fe, ac, po = rec["tranche"], rec["fee"], rec["account"], rec["pool"]
        effects = self.effects()
        if "post_default" in effects:
            raise NotImplementedError("the reference has no post-default waterfall")
        pay_date = self.dates_all[p - 1]
        accrual_start = deal.dates.closing if p == 1 else self.dates_all[p - 2]
        yf = rc.year_fraction(accrual_start, pay_date, deal.dates.day_count)
        months = self.collects[p - 1]
        tr["begin_balance"] = list(self.B)
        begin_claims = [self.claim(i) for i in range(n)]
        rec["begin_claims"] = begin_claims

        # Closing: the residual holder funds the initial reserve (booked in period 1).
        if p == 1 and deal.reserve is not None:
            funding = deal.reserve.initial * self.pool0
            self.reserve += funding
            ac["reserve_funding"] = funding
            self.book("reserve_funding", "equity", "reserve", funding)
        ac["reserve_begin"] = self.reserve

        # 1. Collections of the pool months this date collects.
        called = self.called_in_month is not None
        flows = dict.fromkeys(rp.FLOWS, 0.0)
        for k in months:
            for f in rp.FLOWS:
                if f in ("begin_balance", "end_balance"):
                    continue
                flows[f] += self.flows[k - 1][f]
        if months:
            flows["begin_balance"] = self.flows[months[0] - 1]["begin_balance"]
            flows["end_balance"] = self.flows[months[-1] - 1]["end_balance"]
        for f in rp.FLOWS:
            po[f] = flows[f]
        revenue_collections = flows["interest"] + flows["fee"]
        to_interest = deal.recoveries_to == "interest"
        R = revenue_collections + (flows["recovery"] if to_interest else 0.0)
        P = flows["scheduled_principal"] + flows["prepayment"]
        P += 0.0 if to_interest else flows["recovery"]
        ac["revenue"], ac["principal_collections"] = R, P
        self.book("collections", "pool", "revenue", R)
        self.book("collections", "pool", "principal_funds", P)
        pool_begin = flows["begin_balance"]
        pool_end = flows["end_balance"]
        self.cumulative_default += flows["default"]

        # 2. PDL: debited with the period's defaults, credited with principal recoveries.
        self.D += flows["default"]
        if not to_interest:
            self.D -= min(self.D, flows["recovery"])

        # The revolving period: purchases this period unless ended by a trigger.
        rv = deal.revolving
        revolving = (
            rv is not None and p <= rv.periods and "end_revolving" not in effects and not called
        )

        # 3. Clean-up call.
        call_now = False
        cc = deal.clean_up_call
        callable_now = cc is not None and not called and not revolving and bool(months)
        # READING: a call redeems notes; with no note and no write-down left there is none.
        callable_now = callable_now and sum(begin_claims) > self.eps
        if callable_now and pool_end <= cc.threshold * self.pool0:
            proceeds, defaulted = self._call_proceeds(months[-1], pool_end, pay_date)
            rated_claims = sum(begin_claims[i] for i in range(n) if notes[i].rated)
            if proceeds + P + self.reserve >= rated_claims - self.eps:
                call_now = True
                self.called_in_month = months[-1]
                self._sell(months[-1], sold_pipeline=defaulted is not None)
                if defaulted is not None:
                    # READING: what the defaulted receivables fetch is their recovery, in
                    # the principal funds: it credits the PDL like any principal recovery.
                    self.D -= min(self.D, defaulted)
                po["sale"] = proceeds
                P += proceeds
                self.book("clean_up_call", "pool", "principal_funds", proceeds)
                pool_end = 0.0  # READING: the sold pool is cash now (not collateral)

        # End of the scenario ("Calendar"): the horizon's final period, or the first
        # payment date outside the revolving period with no performing pool left at the
        # end of its collection period and no collection to come.
        # READING: the revolving period is the dates on which ``revolving`` holds (up to
        # ``revolving.periods``, not ended by an ``end_revolving`` effect or a call), even
        # one whose purchases happen to be nil.
        ends = p == self.T or (
            not revolving and pool_end <= self.eps and self._later_collections(p) <= self.eps
        )
        rec["ends"] = ends
        # 4. The last payment date: the end or the call, whichever comes first.  A call
        # that leaves defaulted receivables to recover was the last payment date; the
        # date their last recovery ends the scenario on is not one (no reserve, no divert).
        # READING: "no divert" is the last payment date's; a divert_excess_spread effect in
        # force still diverts after the call like on any date.
        last = call_now or (ends and not called)

        # 4-5. Reserve: the whole balance joins revenue on the last payment date;
        # otherwise the excess over target is released (release_excess).
        r = deal.reserve
        target = 0.0
        if r is not None:
            # READING: "the rated notes are repaid" when their balances B are (a class
            # written down to zero is not outstanding for the reserve; what is released
            # joins the revenue and reinstates it through cover_defaults).
            rated_notes = sum(self.B[i] for i in range(n) if notes[i].rated)
            # After a call there is no reserve left: its target is zero.
            if not last and not called and rated_notes > self.eps:
                basis = rated_notes if r.basis == "notes" else pool_begin
                target = max(r.target * basis, r.floor)
            release = 0.0
            if last:
                release = self.reserve
            elif r.release_excess:
                release = max(self.reserve - target, 0.0)
            self.reserve -= release
            R += release
            ac["reserve_release"] += release
            self.book("reserve_release", "reserve", "revenue", release)
        ac["reserve_target"] = target

        # 6. Amounts due.
        outstanding = any(c > self.eps for c in begin_claims)
        owed_fee = []
        for j, f in enumerate(self.fees):
            from_cutoff = p == 1 and f.accrue_from == "cutoff"
            fee_start = deal.dates.cutoff if from_cutoff else accrual_start
            fyf = rc.year_fraction(fee_start, pay_date, deal.dates.day_count)
            if f.kind == "tax":
                due = f.rate * revenue_collections
            elif f.kind == "fixed":
                due = f.amount * fyf if outstanding else 0.0  # READING: any class has a claim
            else:  # pool_pct
                due = f.rate * pool_begin * fyf
            fe["due"][j] = due
            owed_fee.append(due + self.fee_unpaid[j])
        fee_paid = [0.0] * len(self.fees)
        owed = []
        for i, c in enumerate(notes):
            cpn = c.coupon(accrual_start)
            due = self.B[i] * cpn * yf + (self.U[i] * cpn * yf if c.accrues else 0.0)
            tr["interest_due"][i] = due
            owed.append(due + self.U[i])
        paid = [0.0] * n
        interest_after_fees = revenue_collections - sum(owed_fee)
        ac["interest_after_fees"] = interest_after_fees

        pockets = {"revenue": R, "principal_funds": P}

        def backing(principal_funds: float) -> float:
            """What the principal funds add to the collateral (steps 7-8).

            READING: during the revolving period they buy receivables at ``price``, so
            they back the notes by the principal they buy (funds / price); otherwise
            at face.
            """
            if revolving and not last and rv is not None:
                return principal_funds / rv.price
            return principal_funds

        divert = "divert_excess_spread" in effects
        sequential = "sequential" in effects

        def pay_fees(name: str, pocket: str, cover: bool) -> None:
            j = self.fee_index[name]
            x = min(pockets[pocket], owed_fee[j] - fee_paid[j])
            pockets[pocket] -= x
            fee_paid[j] += x
            self.book(f"fee:{name}", pocket, f"fee:{name}", x)
            if cover and ("fee", name) in self.covered:
                draw = min(self.reserve, owed_fee[j] - fee_paid[j])
                self.reserve -= draw
                fee_paid[j] += draw
                ac["reserve_draw"] += draw
                self.book(f"fee:{name}", "reserve", f"fee:{name}", draw)

        def pay_interest(targets: tuple[str, ...], pocket: str, cover: bool) -> None:
            members = [self.index[x] for x in targets]
            short = {i: owed[i] - paid[i] for i in members}
            total = sum(short.values())
            if total > 0:
                x = min(pockets[pocket], total)
                pockets[pocket] -= x
                for i in members:
                    part = short[i] if x == total else x * short[i] / total
                    paid[i] += part
                    self.book(f"interest:{','.join(targets)}", pocket, notes[i].name, part)
            if cover:
                gaps = {
                    i: owed[i] - paid[i]
                    for i in members
                    if ("interest", notes[i].name) in self.covered and owed[i] - paid[i] > 0
                }
                gap = sum(gaps.values())
                if gap > 0 and self.reserve > 0:
                    draw = min(self.reserve, gap)
                    self.reserve -= draw
                    ac["reserve_draw"] += draw
                    for i, g in gaps.items():
                        part = g if draw == gap else draw * g / gap
                        paid[i] += part
                        self.book(f"interest:{','.join(targets)}", "reserve", notes[i].name, part)

        def pay_principal(groups: list[list[int]], pocket: str, step: str) -> None:
            for members in groups:
                total = sum(self.B[i] for i in members)
                if total <= 0:
                    continue
                x = min(pockets[pocket], total)
                pockets[pocket] -= x
                for i in members:
                    part = self.B[i] if x == total else x * self.B[i] / total
                    self.B[i] -= part
                    tr["principal_paid"][i] += part
                    self.book(step, pocket, notes[i].name, part)

        def residual(pocket: str, step: str = "residual") -> None:
            x = pockets[pocket]
            pockets[pocket] = 0.0
            tr["residual"][self.eq] += x
            self.book(step, pocket, notes[self.eq].name, x)

        def generic(action: str, targets: tuple[str, ...], pocket: str, cover: bool) -> bool:
            if action == "fee":
                pay_fees(targets[0], pocket, cover)
            elif action == "interest":
                pay_interest(targets, pocket, cover)
            elif action == "principal":
                pay_principal([[self.index[targets[0]]]], pocket, f"principal:{targets[0]}")
            elif action == "pro_rata":
                members = [self.index[x] for x in targets]
                # READING (issue 10: no class is paid principal while a more senior one
                # carries PDL): pro rata, unless paying pro rata would leave a PDL share
                # on a class while a more junior class of the step is paid; then by rank.
                groups = (
                    self.by_rank(members)
                    if sequential or self.pro_rata_leaves_pdl(members, pockets[pocket])
                    else [members]
                )
                pay_principal(groups, pocket, f"pro_rata:{','.join(targets)}")
            else:
                return False
            return True

        # 7. The interest waterfall spends R.
        for action, targets in self.interest_steps:
            if generic(action, targets, "revenue", cover=True):
                continue
            if action == "reserve":
                if r is None:
                    continue
                x = min(pockets["revenue"], max(target - self.reserve, 0.0))
                pockets["revenue"] -= x
                self.reserve += x
                ac["reserve_deposit"] += x
                self.book("reserve", "revenue", "reserve", x)
            elif action == "cover_defaults":
                x = min(pockets["revenue"], self.D)
                pockets["revenue"] -= x
                pockets["principal_funds"] += x
                self.D -= x
                self.book("cover_defaults", "revenue", "principal_funds", x)
            elif action == "residual":
                # READING (issue 10, item 1: a rated class's write-down is reimbursed
                # before the residual is paid, senior first): spread goes to the residual
                # holder only once the collateral -- performing pool end balance plus what
                # the principal funds add to it (backing: at face, or funds / price while
                # they buy receivables) -- covers every rated class's claim B + W.  The rest
                # of the need moves to the principal funds first.  cover_defaults has
                # already trapped the spread for what came from defaults; this reaches
                # collateral lost without a default too (receivables bought above par), in
                # the period of the purchase as well as later.  Money needed: a par need n
                # is n x price while the principal funds buy at price (funds / price back
                # the notes), else n.  A need below the run's zero is none.  The residual
                # holder's own write-down does not hold back its residual.
                if deal.loss_allocation == "writedown":
                    rated_claims = sum(self.B[i] + self.W[i] for i in range(n) if notes[i].rated)
                    needed = rated_claims - pool_end - backing(pockets["principal_funds"])
                    if needed <= self.eps:
                        needed = 0.0
                    elif revolving and not last and rv is not None:
                        needed *= rv.price
                    x = min(pockets["revenue"], needed)
                    pockets["revenue"] -= x
                    pockets["principal_funds"] += x
                    self.D -= min(self.D, x)
                    self.book("reimburse_writedowns", "revenue", "principal_funds", x)
                else:  # pdl, none
                    # READING (the same for the PDL): the PDL a rated class still carries
                    # (D beyond the equity note's balance, D being allocated most junior
                    # first) is cured from what is left before the residual holder takes it.
                    equity_b = sum(self.B[i] for i in range(n) if not notes[i].rated)
                    needed = self.D - equity_b
                    x = min(pockets["revenue"], needed) if needed > self.eps else 0.0
                    pockets["revenue"] -= x
                    pockets["principal_funds"] += x
                    self.D -= x
                    self.book("cure_pdl", "revenue", "principal_funds", x)
                # Then all of it while a class has a claim and spread is diverted, or on the
                # last payment date.
                any_claim = any(self.claim(i) > self.eps for i in range(n))
                if any_claim and (divert or last):
                    x = pockets["revenue"]
                    pockets["revenue"] = 0.0
                    pockets["principal_funds"] += x
                    self.book("divert_excess_spread", "revenue", "principal_funds", x)
                    continue
                residual("revenue")
            else:
                raise NotImplementedError(f"step {action!r} in the interest waterfall")

        # 8. Reinstatement of write-downs, most senior rank first (pro rata to W in a rank).
        if deal.loss_allocation == "writedown":
            surplus = pool_end + backing(pockets["principal_funds"]) - sum(self.B)
            for members in self.by_rank(range(n)):
                total_w = sum(self.W[i] for i in members)
                if surplus <= 0 or total_w <= 0:
                    continue
                x = min(surplus, total_w)
                surplus -= x
                for i in members:
                    part = self.W[i] if x == total_w else x * self.W[i] / total_w
                    self.W[i] -= part
                    self.B[i] += part
                    tr["reinstatement"][i] += part

        # 9. The principal waterfall spends P.
        for action, targets in self.principal_steps:
            if generic(action, targets, "principal_funds", cover=False):
                continue
            if action == "reinvest":
                if revolving and not last:
                    assert rv is not None
                    cash = pockets["principal_funds"]
                    pockets["principal_funds"] = 0.0
                    ac["purchase_cash"] = cash
                    self.book("reinvest", "principal_funds", "pool", cash)
                    po["purchases"] = cash / rv.price
            elif action == "residual":
                residual("principal_funds")
            else:
                raise NotImplementedError(f"step {action!r} in the principal waterfall")

        # 11. Full redemption: the reserve left goes to the residual holder.
        if r is not None and all(
            self.claim(i) <= self.eps and owed[i] - paid[i] <= self.eps
            for i in range(n)
            if notes[i].rated
        ):
            x = self.reserve
            self.reserve = 0.0
            ac["reserve_release"] += x  # READING: reported with the releases
            tr["residual"][self.eq] += x
            self.book("reserve_release", "reserve", notes[self.eq].name, x)

        # 12. Purchases join the pool at the end of the period.
        if po["purchases"] > 0:
            assert rv is not None
            self._buy(po["purchases"], months[-1])
            pool_end += po["purchases"]
            self.bought += po["purchases"]

        # 13. Write-down to the performing pool, most junior rank first (pro rata to B).
        if deal.loss_allocation == "writedown":
            excess = sum(self.B) - pool_end
            for members in self.by_rank(range(n), reverse=True):
                total = sum(self.B[i] for i in members)
                if excess <= 0 or total <= 0:
                    continue
                x = min(excess, total)
                excess -= x
                for i in members:
                    part = self.B[i] if x == total else x * self.B[i] / total
                    self.B[i] -= part
                    self.W[i] += part
                    tr["writedown"][i] += part

        # 14. Crystallisation on the date the scenario ends.
        if ends:
            for i in range(n):
                if deal.loss_allocation in ("writedown", "pdl"):
                    tr["writedown"][i] += self.B[i]
                    self.W[i] += self.B[i]
                    self.B[i] = 0.0
                    tr["principal_loss"][i] = self.W[i]
                else:  # "none": the unpaid balance stays outstanding
                    tr["principal_loss"][i] = self.B[i]

        # 15. PDL by class, most junior rank first (pro rata within a rank).
        # READING: D is allocated to the classes' *claims* C = B + W.  Allocated to the
        # balances B left after a write-down, it would charge a loss the write-down has
        # already taken off the equity a second time, to a fully collateralised
        # mezzanine.  In "pdl" and "none" structures W = 0 and C = B.
        left = self.D
        for members in self.by_rank(range(n), reverse=True):
            total = sum(self.claim(i) for i in members)
            if left <= 0 or total <= 0:
                continue
            x = min(left, total)
            left -= x
            for i in members:
                tr["pdl"][i] = self.claim(i) if x == total else x * self.claim(i) / total

        # Carry the period's unpaid amounts.
        for i in range(n):
            self.U[i] = owed[i] - paid[i]
            tr["interest_paid"][i] = paid[i]
            tr["interest_shortfall"][i] = self.U[i]
            tr["end_balance"][i] = self.B[i]
            tr["unreimbursed_writedown"][i] = self.W[i]
        for j in range(len(self.fees)):
            fe["paid"][j] = fee_paid[j]
            self.fee_unpaid[j] = owed_fee[j] - fee_paid[j]
            fe["unpaid"][j] = self.fee_unpaid[j]
        assert abs(pockets["revenue"]) <= self.eps and abs(pockets["principal_funds"]) <= self.eps

        # Accounts of the period's end state.
        ac["reserve_end"] = self.reserve
        ac["pdl"] = self.D
        ac["cumulative_default"] = self.cumulative_default
        ac["residual"] = tr["residual"][self.eq]
        ac["oc_collateral"] = pool_end + self.reserve
        # READING (the rule book does not define it): excess spread is the period's revenue
        # collections (recoveries included when they are revenue; no reserve release) less
        # the fees and the rated classes' interest accrued in the period (due, not carried),
        # over the pool at the start of the collection period, annualised:
        # (R - fees due - rated interest due) / pool x 12 / months.
        rated_due = sum(tr["interest_due"][i] for i in range(n) if notes[i].rated)
        per_year = 12.0 / deal.dates.frequency
        spread = ac["revenue"] - sum(fe["due"]) - rated_due
        # A pool below the run's zero is a float residue, not a pool.
        ac["excess_spread"] = spread / pool_begin * per_year if pool_begin > self.eps else 0.0
        self.excess_spread_history.append(ac["excess_spread"])

        # 16. Triggers on the end state; they act from the next period.
        rec["trigger"] = self._test_triggers(tr, pool_end, interest_after_fees)
        self.breached = rec["trigger"]
        return rec

    # --- collateral events ---------------------------------------------------------------------------

    def _call_proceeds(
        self, month: int, pool_end: float, pay_date: dt.date
    ) -> tuple[float, float | None]:
        """Rule book step 3: ``price`` x performing + accrued interest + defaulted value.

        Returns the proceeds and the part paid for the defaulted receivables (``None``
        when they are not sold).  READING: accrued interest is the projected interest of
        the next pool month times (days from the end of the collection period to the
        payment date) / (days in that month); the defaulted balance awaiting recovery is
        the gross default of the last ``lag`` months.
        """
        cc = self.deal.clean_up_call
        proceeds = cc.price * pool_end
        if cc.accrued_interest and month < self.months:
            month_end = rc.add_months(self.deal.dates.cutoff, month, 31)
            next_days = rc.add_months(self.deal.dates.cutoff, month + 1, 31).day
            days = (pay_date - month_end).days
            proceeds += self.flows[month]["interest"] * days / next_days
        if cc.defaulted_price is None:
            return proceeds, None
        lag = self.collateral.lag
        pipeline = sum(self.flows[k - 1]["default"] for k in range(month - lag + 1, month + 1))
        return proceeds + cc.defaulted_price * pipeline, cc.defaulted_price * pipeline

    def _later_collections(self, p: int) -> float:
        """Every collection of the pool months after those payment date ``p`` collects.

        Scheduled principal, prepayments, interest, fees and recoveries of the months
        the later payment dates would collect, as projected for this scenario: after a
        call :meth:`_sell` has left only the recoveries of the defaulted receivables the
        trust keeps, and receivables bought by revolving purchases are in
        ``self.flows`` from their purchase on (the reference has no servicer advances).

        READING: "later collection periods" are those of the run's later payment dates,
        up to the horizon's final period; a month no payment date collects (after a legal
        final that cuts the horizon short) is no collection period.
        """
        done = max((m for months in self.collects[:p] for m in months), default=0)
        stop = self.collects[self.T - 1][-1]
        keys = ("scheduled_principal", "prepayment", "interest", "fee", "recovery")
        return sum(self.flows[k - 1][f] for k in range(done + 1, stop + 1) for f in keys)

    def _sell(self, month: int, *, sold_pipeline: bool) -> None:
        """After a call nothing performs; recoveries of earlier defaults keep coming unless sold."""
        lag = self.collateral.lag
        for k in range(month + 1, self.months + 1):
            keep = not sold_pipeline and k - lag <= month
            for f in rp.FLOWS:
                if not (keep and f in ("recovery", "loss")):
                    self.flows[k - 1][f] = 0.0

    def _buy(self, principal: float, month: int) -> None:
        """Receivables bought after pool month ``month`` (their month 1 is ``month + 1``)."""
        rv = self.deal.revolving
        total = sum(line.share for line in rv.template)
        cohorts = [
            rp.Cohort(
                balance=principal * line.share / total,
                term=line.term,
                kind=line.payment_type,
                rate=line.rate,
                fee=line.fee_rate * principal * line.share / total,
            )
            for line in rv.template
        ]
        later = rp.project(cohorts, self.collateral, self.months - month, offset=month)
        for t, f in enumerate(later, start=month + 1):
            for key in rp.FLOWS:
                self.flows[t - 1][key] += f[key]

    # --- triggers -------------------------------------------------------------------------------

    def _test_triggers(
        self, tr: dict[str, list[float]], pool_end: float, interest_after_fees: float
    ) -> list[bool]:
        """Breached at this period's end (``curable`` ones may cure)."""
        out = []
        for tg, before in zip(self.triggers, self.breached, strict=True):
            if tg.kind == "cumulative_default":
                hit = self.cumulative_default / (self.pool0 + self.bought) > tg.level
            elif tg.kind == "excess_spread":
                # READING: the average of the last ``periods`` periods; not tested before
                # there are that many, nor once no note has a balance left.
                last = self.excess_spread_history[-tg.periods :]
                notes_left = sum(tr["end_balance"])
                full = len(last) == tg.periods and notes_left > self.eps
                hit = full and sum(last) / len(last) < tg.level
            elif tg.kind in ("oc", "ic"):
                rank = self.notes[self.index[tg.tranche]].rank
                senior = [i for i, c in enumerate(self.notes) if c.rank <= rank]
                if tg.kind == "oc":
                    num = pool_end + self.reserve
                    den = sum(tr["end_balance"][i] for i in senior)
                else:
                    num = interest_after_fees
                    den = sum(tr["interest_due"][i] for i in senior)
                hit = den > self.eps and num / den < tg.level
            else:  # interest_shortfall
                # docs/deal-spec.md, [[triggers]] tranche: by default the first senior class
                names = (
                    [tg.tranche]
                    if tg.tranche
                    else [c.name for c in self.notes if c.kind == "senior"][:1]
                )
                hit = any(tr["interest_shortfall"][self.index[x]] > self.eps for x in names)
            out.append(hit or (before and not tg.curable))
        return out


def _active(rec: dict[str, Any], eps: float) -> bool:
    """A period with a balance or a claim at its start, a reserve, or cash."""
    ac, po = rec["account"], rec["pool"]
    return (
        max(rec["begin_claims"], default=0.0) > eps
        or ac["reserve_begin"] > eps
        or ac["revenue"] + ac["principal_collections"] > eps
        or po["begin_balance"] > eps
    )


def run(deal: Spec, cohorts: Sequence[rp.Cohort], collateral: rp.Collateral) -> Result:
    """Run the deal on the pool for one scenario, up to the date the scenario ends."""
    w = Waterfall(deal, cohorts, collateral)
    periods = []
    for p in range(1, w.T + 1):
        periods.append(w.period(p))
        if periods[-1]["ends"]:
            break
    # The result is cut after the last period with a balance, a claim, a reserve or cash.
    T = len(periods)
    while T > 1 and not _active(periods[T - 1], w.eps):
        T -= 1
    names = [c.name for c in w.notes]
    return Result(
        names=names,
        fee_names=[f.name for f in w.fees],
        trigger_names=[t.name for t in w.triggers],
        dates=w.dates_all[:T],
        tranche={
            f: [[periods[t]["tranche"][f][i] for t in range(T)] for i in range(w.n)]
            for f in TRANCHE_FIELDS
        },
        fee={
            f: [[periods[t]["fee"][f][j] for t in range(T)] for j in range(len(w.fees))]
            for f in FEE_FIELDS
        },
        account={f: [periods[t]["account"][f] for t in range(T)] for f in ACCOUNT_FIELDS},
        pool={f: [periods[t]["pool"][f] for t in range(T)] for f in POOL_FIELDS},
        trigger=[[periods[t]["trigger"][k] for t in range(T)] for k in range(len(w.triggers))],
        ledger=w.ledger,
    )


def run_engine_inputs(deal: Any, pool: Any) -> Result:
    """The reference run on the engine's own inputs: a ``Deal`` and ``abs_engine.Cohorts``."""
    return run(from_deal(deal), rp.cohorts_from(pool), rp.collateral_from(deal.pool.assumptions))


def ledger_problems(r: Result) -> list[str]:
    """Cash conservation of a reference run, from its ledger.

    Every period: the revenue and principal pockets end empty; the reserve moves only by
    its entries (funding, deposits, draws, releases); what each class and fee received in
    the ledger is what its fields say it was paid.
    """
    out = []
    for t in range(1, r.n_periods + 1):
        k = t - 1
        net: dict[str, float] = {}
        for p, step, src, dst, amount in r.ledger:
            if p == t:
                if step != "reserve_funding":  # the residual holder's outlay, not a payment
                    net[src] = net.get(src, 0.0) - amount
                net[dst] = net.get(dst, 0.0) + amount
        tol = 1e-9 * max([1.0, *(abs(v) for v in net.values())])
        for pocket in ("revenue", "principal_funds"):
            if abs(net.get(pocket, 0.0)) > tol:
                out.append(f"period {t}: {pocket} left with {net[pocket]:.10g}")
        moved = r.account["reserve_end"][k] - r.account["reserve_begin"][k]
        moved += r.account["reserve_funding"][k]
        if abs(net.get("reserve", 0.0) - moved) > tol:
            out.append(
                f"period {t}: reserve moved {moved:.10g}, ledger {net.get('reserve', 0):.10g}"
            )
        for i, name in enumerate(r.names):
            paid = sum(r.tranche[f][i][k] for f in ("interest_paid", "principal_paid", "residual"))
            if abs(net.get(name, 0.0) - paid) > tol:
                out.append(f"period {t}: {name} got {net.get(name, 0.0):.10g}, fields {paid:.10g}")
        for j, name in enumerate(r.fee_names):
            if abs(net.get(f"fee:{name}", 0.0) - r.fee["paid"][j][k]) > tol:
                out.append(f"period {t}: fee {name} got {net.get(f'fee:{name}', 0.0):.10g}")
    return out
