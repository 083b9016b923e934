//! The local judge: rubrics (prompts) -> LLM (llm) -> rating distribution (verdict).

pub mod chat;
pub mod fit;
pub mod llm;
pub mod prompts;
pub mod tokenizer;
pub mod verdict;
