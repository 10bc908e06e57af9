//! `Blender.compare_conversations`: two conversations that share their user turns become one comparison, the
//! user turns the input, each conversation's assistant turns a candidate (the template of PairRM's model card,
//! `get_pair_from_conv` in the reference; "coversation" is the reference's spelling and part of the template the
//! model was trained on).
// https://github.com/yuchenlin/LLM-Blender/blob/2a67366/llm_blender/blender/blender.py

use super::io::{CompareConversationsInput, CompareInput, Turn};
use crate::error::EvalError;

/// The instruction `compare_conversations` prepends to the input.
pub const CONVERSATION_INSTRUCTION: &str =
    "Finish the following coversation in each i-th turn by filling in <Response i> with your response.";

impl CompareConversationsInput {
    /// The comparison this pair of conversations stands for:
    /// input `USER: {u_1}\nAssistant: <Response 1>\n…`, candidates `<Response 1>: {a_1}\n…`.
    ///
    /// # Errors
    /// [`EvalError::InvalidInput`] naming the field: an empty or odd-length conversation, a role out of turn,
    /// conversations of different lengths or with different user turns.
    pub fn to_compare_input(&self, index: usize) -> Result<CompareInput, EvalError> {
        let id = self
            .id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let invalid = |field: String, reason: String| EvalError::InvalidInput {
            index,
            id: id.clone(),
            field,
            reason,
        };
        for (name, conversation) in [
            ("conversation_a", &self.conversation_a),
            ("conversation_b", &self.conversation_b),
        ] {
            if conversation.is_empty() || conversation.len() % 2 != 0 {
                return Err(invalid(
                    name.into(),
                    format!(
                        "{} turns; a conversation is user/assistant pairs (an even, non-zero number of turns)",
                        conversation.len()
                    ),
                ));
            }
            for (t, turn) in conversation.iter().enumerate() {
                let expected = if t % 2 == 0 { "user" } else { "assistant" };
                if !turn.role.eq_ignore_ascii_case(expected) {
                    return Err(invalid(
                        format!("{name}[{t}].role"),
                        format!(
                            "is {:?}, expected {expected:?} (turns alternate, user first)",
                            turn.role
                        ),
                    ));
                }
            }
        }
        if self.conversation_a.len() != self.conversation_b.len() {
            return Err(invalid(
                "conversation_b".into(),
                format!(
                    "{} turns, conversation_a has {}; both need the same turns",
                    self.conversation_b.len(),
                    self.conversation_a.len()
                ),
            ));
        }
        for t in (0..self.conversation_a.len()).step_by(2) {
            if self.conversation_a[t].content != self.conversation_b[t].content {
                return Err(invalid(
                    format!("conversation_b[{t}].content"),
                    "differs from conversation_a's user turn; both conversations answer the same user turns"
                        .into(),
                ));
            }
        }
        let input = self
            .conversation_a
            .chunks(2)
            .enumerate()
            .map(|(k, pair)| format!("USER: {}\nAssistant: <Response {}>", pair[0].content, k + 1))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(CompareInput {
            id: self.id.clone(),
            instruction: CONVERSATION_INSTRUCTION.into(),
            input,
            candidate_a: responses(&self.conversation_a),
            candidate_b: responses(&self.conversation_b),
        })
    }
}

fn responses(conversation: &[Turn]) -> String {
    conversation
        .chunks(2)
        .enumerate()
        .map(|(k, pair)| format!("<Response {}>: {}", k + 1, pair[1].content))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(role: &str, content: &str) -> Turn {
        Turn {
            role: role.into(),
            content: content.into(),
        }
    }

    fn pair(a: Vec<Turn>, b: Vec<Turn>) -> CompareConversationsInput {
        CompareConversationsInput {
            id: None,
            conversation_a: a,
            conversation_b: b,
        }
    }

    #[test]
    fn two_turns_follow_the_reference_template() {
        let c = pair(
            vec![
                turn("USER", "2+2?"),
                turn("ASSISTANT", "4"),
                turn("user", "3+3?"),
                turn("assistant", "6"),
            ],
            vec![
                turn("user", "2+2?"),
                turn("assistant", "5"),
                turn("User", "3+3?"),
                turn("Assistant", ""),
            ],
        )
        .to_compare_input(0)
        .unwrap();
        assert_eq!(
            c.input,
            "USER: 2+2?\nAssistant: <Response 1>\nUSER: 3+3?\nAssistant: <Response 2>"
        );
        assert_eq!(c.candidate_a, "<Response 1>: 4\n<Response 2>: 6");
        assert_eq!(c.candidate_b, "<Response 1>: 5\n<Response 2>: ");
        assert_eq!(c.instruction, CONVERSATION_INSTRUCTION);
    }

    #[test]
    fn bad_conversations_name_the_field() {
        let ok = || vec![turn("user", "q"), turn("assistant", "a")];
        let cases = [
            (
                pair(vec![turn("user", "q")], ok()),
                "conversation_a: 1 turns",
            ),
            (pair(ok(), vec![]), "conversation_b: 0 turns"),
            (
                pair(ok(), vec![turn("assistant", "q"), turn("assistant", "a")]),
                "conversation_b[0].role: is \"assistant\"",
            ),
            (
                pair(ok(), vec![turn("user", "other"), turn("assistant", "a")]),
                "conversation_b[0].content: differs",
            ),
            (
                pair(ok(), [ok(), ok()].concat()),
                "conversation_b: 4 turns, conversation_a has 2",
            ),
        ];
        for (input, expected) in cases {
            let err = input.to_compare_input(3).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("item 3 (id \"\"): {expected}")),
                "{err}"
            );
        }
    }
}
