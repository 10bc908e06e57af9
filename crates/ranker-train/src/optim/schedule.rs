//! Learning-rate schedules as HF's `get_{linear,constant,cosine}_schedule_with_warmup`.

use crate::config::ScheduleKind;

/// Learning rate as a function of the optimiser step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    kind: ScheduleKind,
    peak: f64,
    warmup_steps: u64,
    total_steps: u64,
}

impl LrSchedule {
    /// `warmup_steps = ceil(total_steps · warmup_ratio)`, as HF's `TrainingArguments.get_warmup_steps`.
    pub fn new(kind: ScheduleKind, peak: f64, warmup_ratio: f64, total_steps: u64) -> Self {
        let warmup_steps = (total_steps as f64 * warmup_ratio).ceil() as u64;
        Self {
            kind,
            peak,
            warmup_steps,
            total_steps,
        }
    }

    /// Steps of linear warmup.
    pub fn warmup_steps(&self) -> u64 {
        self.warmup_steps
    }

    /// The rate used by update number `step` (0-based: the first update uses `lr(0)`).
    ///
    /// ```text
    /// step < warmup:  peak · step / warmup
    /// linear:         peak · max(0, (total − step) / (total − warmup))
    /// cosine:         peak · max(0, ½(1 + cos(π · progress))),  progress = (step − warmup)/(total − warmup)
    /// constant:       peak
    /// ```
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            return self.peak * step as f64 / self.warmup_steps.max(1) as f64;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let factor = match self.kind {
            ScheduleKind::Constant => 1.0,
            ScheduleKind::Linear => {
                (self.total_steps.saturating_sub(step) as f64 / decay_steps).max(0.0)
            }
            ScheduleKind::Cosine => {
                let progress = (step - self.warmup_steps) as f64 / decay_steps;
                (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0)
            }
        };
        self.peak * factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_warmup_then_decay_to_zero() {
        let s = LrSchedule::new(ScheduleKind::Linear, 1.0, 0.2, 10);
        assert_eq!(s.warmup_steps(), 2);
        let lrs: Vec<f64> = (0..11).map(|i| s.lr(i)).collect();
        assert_eq!(
            lrs,
            [0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0]
        );
    }

    #[test]
    fn warmup_steps_round_up_like_hf() {
        assert_eq!(
            LrSchedule::new(ScheduleKind::Linear, 1.0, 0.05, 30).warmup_steps(),
            2
        );
        assert_eq!(
            LrSchedule::new(ScheduleKind::Linear, 1.0, 0.0, 30).warmup_steps(),
            0
        );
    }

    #[test]
    fn cosine_and_constant() {
        let c = LrSchedule::new(ScheduleKind::Cosine, 2.0, 0.0, 4);
        assert!((c.lr(0) - 2.0).abs() < 1e-12);
        assert!((c.lr(2) - 1.0).abs() < 1e-12);
        assert!(c.lr(4).abs() < 1e-12);
        let k = LrSchedule::new(ScheduleKind::Constant, 3.0, 0.5, 4);
        assert_eq!([k.lr(0), k.lr(1), k.lr(2), k.lr(3)], [0.0, 1.5, 3.0, 3.0]);
    }
}
