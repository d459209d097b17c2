//! Incrementally maintained counters per campaign, per country, per UTC quarter-hour.
//!
//! Quarter-hours make the days of every time zone exact sums (all offsets in use are multiples of 15
//! minutes). One (campaign, country) [`Series`] is a hierarchy of totals: quarter-hour buckets → hours →
//! UTC days → 8-day blocks → 64-day super-blocks. An update adds its delta at each level (five small
//! writes); a range sum adds at most a few dozen totals (the partial hours at the two edges — or the day
//! total minus what lies outside — and the largest aligned blocks in between), so both are independent of
//! the number of messages. Days with few non-empty buckets keep them in a short sorted list instead of the
//! 120-entry arrays.

use crate::dates::QH_PER_DAY;

/// Indices into [`Counters`].
pub(crate) const SENT: usize = 0;
pub(crate) const DELIVERED: usize = 1;
pub(crate) const READ: usize = 2;
pub(crate) const FAILED: usize = 3;
pub(crate) const CLICKS: usize = 4;
/// Delivered messages without a price of their own (priced from the rate card at query time).
pub(crate) const UNPRICED: usize = 5;
/// Sum of the own prices (micro-units) of delivered messages.
pub(crate) const SPEND: usize = 6;
pub(crate) const N_COUNTERS: usize = 7;

/// Signed counters; sums wrap (not panic) on overflow, so they stay exact whenever the true total fits.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Counters(pub [i64; N_COUNTERS]);

impl Counters {
    pub(crate) fn add(&mut self, other: &Counters) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.wrapping_add(*b);
        }
    }

    pub(crate) fn sub(&mut self, other: &Counters) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.wrapping_sub(*b);
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }
}

/// Sparse days switch to dense arrays beyond this many non-empty buckets.
const SPARSE_MAX: usize = 12;
const HOURS: usize = 24;
const QH: usize = QH_PER_DAY as usize;

enum Buckets {
    /// Non-empty buckets sorted by quarter-hour of the day.
    Sparse(Vec<(u8, Counters)>),
    /// All 96 buckets, then the 24 hour totals.
    Dense(Box<[Counters; QH + HOURS]>),
}

/// The quarter-hour buckets of one UTC day (its total is kept by the [`Series`]).
struct DayNode {
    buckets: Buckets,
}

impl DayNode {
    fn new() -> DayNode {
        DayNode {
            buckets: Buckets::Sparse(Vec::new()),
        }
    }

    fn add(&mut self, qh_of_day: u8, delta: &Counters) {
        match &mut self.buckets {
            Buckets::Sparse(entries) => match entries.binary_search_by_key(&qh_of_day, |e| e.0) {
                Ok(i) => {
                    entries[i].1.add(delta);
                    if entries[i].1.is_zero() {
                        entries.remove(i);
                    }
                }
                Err(i) => {
                    entries.insert(i, (qh_of_day, *delta));
                    if entries.len() > SPARSE_MAX {
                        let mut dense = Box::new([Counters::default(); QH + HOURS]);
                        for (q, c) in entries.iter() {
                            dense[usize::from(*q)].add(c);
                            dense[QH + usize::from(*q) / 4].add(c);
                        }
                        self.buckets = Buckets::Dense(dense);
                    }
                }
            },
            Buckets::Dense(dense) => {
                dense[usize::from(qh_of_day)].add(delta);
                dense[QH + usize::from(qh_of_day) / 4].add(delta);
            }
        }
    }

    /// Adds the sum of buckets `from..to` (quarter-hours of the day, `to <= 96`) to `out`; `total` is the
    /// day's total.
    fn range(&self, total: &Counters, from: u32, to: u32, out: &mut Counters) {
        if from >= to {
            return;
        }
        if from == 0 && to >= QH_PER_DAY {
            out.add(total);
            return;
        }
        let (from, to) = (from as usize, (to as usize).min(QH));
        match &self.buckets {
            Buckets::Sparse(entries) => {
                for (q, c) in entries {
                    if (from..to).contains(&usize::from(*q)) {
                        out.add(c);
                    }
                }
            }
            Buckets::Dense(dense) => {
                // Either add what is inside the range or subtract what is outside it from the day's total,
                // whichever touches fewer totals (at most about a dozen either way).
                let inside = hour_cover(from, to);
                let before = hour_cover(0, from);
                let after = hour_cover(to, QH);
                if inside.cost() <= before.cost() + after.cost() {
                    inside.add_to(dense, out);
                } else {
                    let mut outside = Counters::default();
                    before.add_to(dense, &mut outside);
                    after.add_to(dense, &mut outside);
                    out.add(total);
                    out.sub(&outside);
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<DayNode>()
            + match &self.buckets {
                Buckets::Sparse(entries) => {
                    entries.capacity() * std::mem::size_of::<(u8, Counters)>()
                }
                Buckets::Dense(_) => std::mem::size_of::<[Counters; QH + HOURS]>(),
            }
    }
}

/// How to sum quarter-hours `from..to` of a dense day: quarter-hours `from..a`, whole hours `a/4..b/4`,
/// quarter-hours `b..to` (`a`, `b` are hour boundaries whenever `a < b`).
struct HourCover {
    from: usize,
    a: usize,
    b: usize,
    to: usize,
}

fn hour_cover(from: usize, to: usize) -> HourCover {
    let a = from.next_multiple_of(4).min(to);
    let b = (to / 4 * 4).max(a);
    HourCover { from, a, b, to }
}

impl HourCover {
    /// Number of totals added.
    fn cost(&self) -> usize {
        (self.a - self.from) + (self.b - self.a) / 4 + (self.to - self.b)
    }

    fn add_to(&self, dense: &[Counters; QH + HOURS], out: &mut Counters) {
        dense[self.from..self.a].iter().for_each(|c| out.add(c));
        dense[QH + self.a / 4..QH + self.b / 4]
            .iter()
            .for_each(|c| out.add(c));
        dense[self.b..self.to].iter().for_each(|c| out.add(c));
    }
}

/// Days per block and per super-block of the top levels.
const BLOCK_DAYS: u32 = 8;
const SUPER_DAYS: u32 = 64;

/// Counters of one (campaign, country) over time: buckets per day, and dense totals per day, per 8-day
/// block and per 64-day super-block over the covered span (so summing whole days reads contiguous memory).
#[derive(Default)]
pub(crate) struct Series {
    /// First UTC day (since 2000-01-01) covered; a multiple of `SUPER_DAYS`. Spans grow by super-blocks.
    first_day: u32,
    /// Buckets per day from `first_day`; `None` for days without data.
    nodes: Vec<Option<Box<DayNode>>>,
    day_totals: Vec<Counters>,
    blocks: Vec<Counters>,
    supers: Vec<Counters>,
    /// Sum of every delta ever added, and the quarter-hours `touched.0..=touched.1` they fell in: a
    /// range covering that span (the default range usually does) is answered by `total` alone.
    total: Counters,
    touched: (u32, u32),
}

impl Series {
    pub(crate) fn add(&mut self, qh: u32, delta: &Counters) {
        if self.nodes.is_empty() {
            self.touched = (qh, qh);
        } else {
            self.touched = (self.touched.0.min(qh), self.touched.1.max(qh));
        }
        self.total.add(delta);
        let day = qh / QH_PER_DAY;
        let i = self.index_for(day);
        self.nodes[i]
            .get_or_insert_with(|| Box::new(DayNode::new()))
            .add((qh % QH_PER_DAY) as u8, delta);
        self.day_totals[i].add(delta);
        self.blocks[i / BLOCK_DAYS as usize].add(delta);
        self.supers[i / SUPER_DAYS as usize].add(delta);
    }

    /// Position of `day`, growing the covered span (by whole super-blocks) as needed.
    fn index_for(&mut self, day: u32) -> usize {
        let super_start = day - day % SUPER_DAYS;
        if self.nodes.is_empty() {
            self.first_day = super_start;
        } else if day < self.first_day {
            let extra = (self.first_day - super_start) as usize;
            self.nodes
                .splice(0..0, std::iter::repeat_with(|| None).take(extra));
            self.day_totals
                .splice(0..0, std::iter::repeat_n(Counters::default(), extra));
            self.blocks.splice(
                0..0,
                std::iter::repeat_n(Counters::default(), extra / BLOCK_DAYS as usize),
            );
            self.supers.splice(
                0..0,
                std::iter::repeat_n(Counters::default(), extra / SUPER_DAYS as usize),
            );
            self.first_day = super_start;
        }
        let i = (day - self.first_day) as usize;
        if i >= self.nodes.len() {
            let days = (i / SUPER_DAYS as usize + 1) * SUPER_DAYS as usize;
            self.nodes.resize_with(days, || None);
            self.day_totals.resize(days, Counters::default());
            self.blocks
                .resize(days / BLOCK_DAYS as usize, Counters::default());
            self.supers
                .resize(days / SUPER_DAYS as usize, Counters::default());
        }
        i
    }

    /// Sum over quarter-hours `from..to`.
    pub(crate) fn range_sum(&self, from: u32, to: u32) -> Counters {
        let mut out = Counters::default();
        if from >= to || self.nodes.is_empty() {
            return out;
        }
        if from <= self.touched.0 && to > self.touched.1 {
            return self.total;
        }
        let first_day = from / QH_PER_DAY;
        let last_day = (to - 1) / QH_PER_DAY;
        if first_day == last_day {
            let base = first_day * QH_PER_DAY;
            self.day_range(first_day, from - base, to - base, &mut out);
            return out;
        }
        self.day_range(
            first_day,
            from - first_day * QH_PER_DAY,
            QH_PER_DAY,
            &mut out,
        );
        self.whole_days(first_day + 1, last_day, &mut out);
        self.day_range(last_day, 0, to - last_day * QH_PER_DAY, &mut out);
        out
    }

    fn day_range(&self, day: u32, from: u32, to: u32, out: &mut Counters) {
        let Some(i) = day.checked_sub(self.first_day).map(|i| i as usize) else {
            return;
        };
        if let Some(Some(node)) = self.nodes.get(i) {
            node.range(&self.day_totals[i], from, to, out);
        }
    }

    /// Adds the totals of days `start..end`, using the largest aligned blocks inside.
    fn whole_days(&self, start: u32, end: u32, out: &mut Counters) {
        let end = end
            .min(self.first_day + self.nodes.len() as u32)
            .saturating_sub(self.first_day) as usize;
        let mut i = start.saturating_sub(self.first_day) as usize;
        let (block, sup) = (BLOCK_DAYS as usize, SUPER_DAYS as usize);
        while i < end {
            if i.is_multiple_of(sup) && i + sup <= end {
                out.add(&self.supers[i / sup]);
                i += sup;
            } else if i.is_multiple_of(block) && i + block <= end {
                out.add(&self.blocks[i / block]);
                i += block;
            } else {
                out.add(&self.day_totals[i]);
                i += 1;
            }
        }
    }

    /// Every non-zero bucket as (quarter-hour, counters), ascending (for checkpoints).
    pub(crate) fn buckets(&self) -> Vec<(u32, Counters)> {
        let mut out = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            let base = (self.first_day + i as u32) * QH_PER_DAY;
            match &node.buckets {
                Buckets::Sparse(entries) => {
                    out.extend(entries.iter().map(|(q, c)| (base + u32::from(*q), *c)))
                }
                Buckets::Dense(dense) => out.extend(
                    dense[..QH]
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| !c.is_zero())
                        .map(|(q, c)| (base + q as u32, *c)),
                ),
            }
        }
        out
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Option<Box<DayNode>>>()
            + self
                .nodes
                .iter()
                .flatten()
                .map(|n| n.heap_bytes())
                .sum::<usize>()
            + (self.day_totals.capacity() + self.blocks.capacity() + self.supers.capacity())
                * std::mem::size_of::<Counters>()
    }
}

/// Number of country slots: every two-letter index plus unknown.
const COUNTRY_SLOTS: usize = crate::country::CODE_SPACE as usize + 1;

/// Series of one campaign, one per country index that has data.
#[derive(Default)]
pub(crate) struct CampaignSeries {
    /// Country indices, ascending (so iteration is in code order with unknown last).
    countries: Vec<u16>,
    series: Vec<Series>,
    /// Direct index for updates: `slot[country]` is the position in `series` + 1 (0: none). Allocated with
    /// the first data.
    slot: Vec<u16>,
}

impl CampaignSeries {
    pub(crate) fn add(&mut self, country: u16, qh: u32, delta: &Counters) {
        if self.slot.is_empty() {
            self.slot = vec![0; COUNTRY_SLOTS];
        }
        let index = usize::from(country).min(COUNTRY_SLOTS - 1);
        let pos = match self.slot[index] {
            0 => {
                let p = self.countries.partition_point(|&c| c < country);
                self.countries.insert(p, country);
                self.series.insert(p, Series::default());
                for (i, &c) in self.countries.iter().enumerate().skip(p) {
                    self.slot[usize::from(c).min(COUNTRY_SLOTS - 1)] = i as u16 + 1;
                }
                p
            }
            s => usize::from(s) - 1,
        };
        self.series[pos].add(qh, delta);
    }

    /// (country index, series) in ascending country order.
    /// Number of countries with a series.
    pub(crate) fn len(&self) -> usize {
        self.series.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, &Series)> + '_ {
        self.countries.iter().copied().zip(self.series.iter())
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.countries.capacity() * 2
            + self.slot.capacity() * 2
            + self.series.capacity() * std::mem::size_of::<Series>()
            + self.series.iter().map(Series::heap_bytes).sum::<usize>()
    }
}

/// A pending change to the aggregates: add `delta` at (country, quarter-hour).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delta {
    pub country: u16,
    pub qh: u32,
    pub counters: Counters,
}

/// Collects the deltas of one state change, merging those that hit the same bucket so that an unchanged
/// contribution (subtracted then re-added) costs nothing.
#[derive(Default)]
pub(crate) struct DeltaBuffer {
    pub entries: Vec<Delta>,
}

impl DeltaBuffer {
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(crate) fn push(&mut self, country: u16, qh: u32, counter: usize, amount: i64) {
        if let Some(d) = self
            .entries
            .iter_mut()
            .find(|d| d.country == country && d.qh == qh)
        {
            d.counters.0[counter] = d.counters.0[counter].wrapping_add(amount);
            return;
        }
        let mut counters = Counters::default();
        counters.0[counter] = amount;
        self.entries.push(Delta {
            country,
            qh,
            counters,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(counter: usize, v: i64) -> Counters {
        let mut c = Counters::default();
        c.0[counter] = v;
        c
    }

    /// Brute-force model: bucket -> value of counter 0.
    #[test]
    fn series_matches_brute_force() {
        let mut series = Series::default();
        let mut model = std::collections::BTreeMap::<u32, i64>::new();
        // Deterministic pseudo-random updates over ~40 days, out of order, including removals.
        let mut x: u64 = 12345;
        for _ in 0..3000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let qh = ((x >> 33) % (40 * 96)) as u32 + 96 * 1000;
            let v = if (x >> 20).is_multiple_of(4) { -1 } else { 1 };
            series.add(qh, &unit(SENT, v));
            *model.entry(qh).or_default() += v;
        }
        for (from, to) in [
            (96 * 1000, 96 * 1040),
            (96 * 1000 + 13, 96 * 1003 + 77),
            (96 * 1010 + 5, 96 * 1010 + 6),
            (0, u32::MAX),
            (96 * 1039, 96 * 1041),
            (5, 5),
        ] {
            let expected: i64 = model.range(from..to).map(|(_, v)| v).sum();
            assert_eq!(series.range_sum(from, to).0[SENT], expected, "{from}..{to}");
        }
        for start in (96 * 1000..96 * 1040).step_by(37) {
            for len in [1, 20, 96, 97, 500] {
                let expected: i64 = model.range(start..start + len).map(|(_, v)| v).sum();
                assert_eq!(series.range_sum(start, start + len).0[SENT], expected);
            }
        }
        // Ranges at the edges of the touched span, where the whole-series total may or may not apply.
        let (lo, hi) = (*model.keys().next().unwrap(), *model.keys().last().unwrap());
        for from in [lo - 1, lo, lo + 1] {
            for to in [hi - 1, hi, hi + 1, hi + 2] {
                let expected: i64 = model.range(from..to).map(|(_, v)| v).sum();
                assert_eq!(series.range_sum(from, to).0[SENT], expected, "{from}..{to}");
            }
        }
    }

    #[test]
    fn whole_span_total_survives_retractions_and_early_buckets() {
        let mut series = Series::default();
        series.add(96 * 500 + 3, &unit(SENT, 1));
        series.add(96 * 500 + 3, &unit(SENT, -1));
        series.add(96 * 400, &unit(READ, 2));
        series.add(96 * 600 + 95, &unit(READ, 1));
        assert_eq!(series.range_sum(0, u32::MAX).0[READ], 3);
        assert_eq!(series.range_sum(96 * 400, 96 * 600 + 95).0[READ], 2);
        assert_eq!(series.range_sum(96 * 400 + 1, 96 * 601).0[READ], 1);
        assert_eq!(series.range_sum(0, u32::MAX).0[SENT], 0);
    }

    #[test]
    fn delta_buffer_merges_and_cancels() {
        let mut buf = DeltaBuffer::default();
        buf.push(1, 10, SENT, -1);
        buf.push(1, 10, SENT, 1);
        buf.push(1, 11, READ, 1);
        assert_eq!(buf.entries.len(), 2);
        assert!(buf.entries[0].counters.is_zero());
    }
}
