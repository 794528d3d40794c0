"""EventBridge rules toolkit: patterns, InputTransformers and CloudFormation rule templates, as AWS runs them.

Pure code: it takes dicts and strings and returns data; nothing here does I/O beyond reading a
template file it is given.

- `pattern`: `compile_pattern(pattern)` -> `EventPattern` (`.match(event)`, `.warnings`), `pattern_matches`.
- `transformer`: `render_input(...)` -> `RenderedInput`, `validate_input_transformer`, `validate_target`.
- `template`: `load_rule_template(path_or_text, parameters, imports)` -> `list[EventRule]`.
- `cloudtrail`: `cloudtrail_event(event_source, event_name, ...)` -> an EventBridge event.
- `samples`: `sample_event(kind, event_name, identifier_values=..., region=..., account_id=...)`,
  `sample_native_event(kind, deleted=...)`, `sample_case(...)` (the event and what it should give).
- `event_names`: `events_of_source(event_source)` -> the API calls CloudTrail records for a source.
- `simulate`: `simulate_rules(rules, event, evaluator=..., config=...)` -> `RuleOutcome`s (`rules test`).
- `lint`: `lint_template(path_or_text, evaluator=..., config=...)` -> `LintReport` (`rules lint`).
- `generate`: `generate_rules(config_or_kinds)` -> `GeneratedRules`; `rule_output.render_cloudformation`,
  `render_terraform` (`rules generate`).

Those last modules are imported by name (they load botocore's models or the config model).
"""

from port_aws_exporter.eventbridge.cloudtrail import cloudtrail_event, eventbridge_source
from port_aws_exporter.eventbridge.pattern import (
    EventPattern,
    InvalidPatternError,
    PatternMatch,
    PatternWarning,
    compile_pattern,
    pattern_matches,
)
from port_aws_exporter.eventbridge.transformer import (
    InputTransformerError,
    RenderedInput,
    build_rule_arn,
    render_input,
    render_target_input,
    validate_input_transformer,
    validate_target,
)
from port_aws_exporter.rules.template import (
    EventRule,
    RuleTarget,
    RuleTemplateError,
    TargetInputTransformer,
    load_rule_template,
)

__all__ = [
    "EventPattern",
    "EventRule",
    "InputTransformerError",
    "InvalidPatternError",
    "PatternMatch",
    "PatternWarning",
    "RenderedInput",
    "RuleTarget",
    "RuleTemplateError",
    "TargetInputTransformer",
    "build_rule_arn",
    "cloudtrail_event",
    "compile_pattern",
    "eventbridge_source",
    "load_rule_template",
    "pattern_matches",
    "render_input",
    "render_target_input",
    "validate_input_transformer",
    "validate_target",
]
