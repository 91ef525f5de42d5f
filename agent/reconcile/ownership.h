#pragma once
// What the agent owns, decided in one place: which record a successful action adds to or
// removes from Owned (the state file), and which records a plan found nothing left for.
// The executor records with it, and writes first what it would add (Records::ClaimsOnly:
// the write-ahead of a transaction, mayOwnAfter, and of each repair), so a crash part-way
// leaves nothing unowned. A new kind of owned object is one case of record() here and one
// record of Owned (agent/reconcile/state_file.h).
#include <vector>

#include "agent/reconcile/action.h"
#include "agent/reconcile/state_file.h"

namespace agent {

// Which of an action's ownership changes to apply: all of them (it succeeded), or only the
// records it would add (written before it runs, so a crash part-way leaves nothing unowned).
enum class Records { All, ClaimsOnly };

// Records in `owned` what a successful action did; true when `owned` changed. An add that
// found its object already there (AlreadyDone) was not made by the agent: it is not
// recorded, and so never removed by `stop` or a rollback.
bool record(Owned& owned, const Action& a, netcfg::Effect effect, Records which = Records::All);

// Ownership records with nothing left to undo in the kernel (the object went by itself,
// or someone replaced it): dropped without an action.
using Forget = Owned;
// Drops the records of f; true when `owned` changed.
bool applyForget(Owned& owned, const Forget& f);

// What the agent may own once `actions` have run: `owned` with every record they would
// add (written before the first change).
Owned mayOwnAfter(Owned owned, const std::vector<Action>& actions);

}  // namespace agent
