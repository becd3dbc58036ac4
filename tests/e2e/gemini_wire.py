"""The Gemini API as the mock upstream speaks it (`POST /v1beta/models/{m}:generateContent`
and `:streamGenerateContent`, with or without `alt=sse`): request checks that mirror the
real API's 400s, and replies rendered as a `GenerateContentResponse` or as SSE of
`GenerateContentResponse` chunks with `usageMetadata` on the last one.

The real API parses bodies as protobuf JSON: a field it does not know is an error, and
every field may be spelled in lowerCamelCase or in its proto snake_case name. Function
declarations' `parameters` is an OpenAPI subset that refuses JSON-schema keys such as
`$schema` or `additionalProperties`; `parametersJsonSchema` takes any JSON schema.
"""

from __future__ import annotations

import json
import re

from replies import ErrorReply, Reply, TextBlock, ThinkingBlock, ToolUseBlock, chunk_text, next_id

API_KEY = "AIza-mock-gemini-upstream"

_FIELDS = {
    "contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig",
    "cachedContent", "labels", "model",
}
_GENERATION_FIELDS = {
    "temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences",
    "responseMimeType", "responseSchema", "responseJsonSchema", "presencePenalty",
    "frequencyPenalty", "seed", "thinkingConfig", "responseLogprobs", "logprobs",
    "responseModalities", "speechConfig", "mediaResolution", "enableEnhancedCivicAnswers",
    "imageConfig",
}
_PART_DATA = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"}
_PART_FIELDS = _PART_DATA | {"thought", "thoughtSignature", "videoMetadata", "partMetadata", "mediaResolution"}
_TOOL_FIELDS = {"functionDeclarations", "googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext", "computerUse", "fileSearch", "googleMaps"}
_DECLARATION_FIELDS = {"name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"}
# The OpenAPI subset `parameters` accepts (the proto `Schema` message).
_SCHEMA_FIELDS = {
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
    "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
    "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
}
_SCHEMA_TYPES = {"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}

# Every thought signature this upstream has issued (in any reply, to any test). Like the
# real API it refuses any other ("Corrupted thought signature."), except the documented
# sentinel that stands in for a missing one.
ISSUED_SIGNATURES: set[str] = set()
SKIP_SIGNATURE = "skip_thought_signature_validator"

# kind -> (status, canonical status name)
_ERRORS = {
    "rate_limit": (429, "RESOURCE_EXHAUSTED"),
    "overloaded": (503, "UNAVAILABLE"),
    "invalid_request": (400, "INVALID_ARGUMENT"),
    "authentication": (401, "UNAUTHENTICATED"),
    "server": (500, "INTERNAL"),
}

PATH = re.compile(r"^/(v1beta|v1)/models/([^/:]+):(generateContent|streamGenerateContent|countTokens)$")


class Invalid(Exception):
    """The request breaks a rule the real API enforces (answered with 400 INVALID_ARGUMENT)."""


def camel(name: str) -> str:
    """The lowerCamelCase spelling of a proto field name (`system_instruction` -> `systemInstruction`)."""
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def normalized(value):
    """`value` with every object key in lowerCamelCase, as the real API's parser reads it.
    Free-form objects (function arguments, JSON schemas) keep their keys."""
    return _normalized(value, free=False)


_FREE_FORM = {"args", "response", "parametersJsonSchema", "responseJsonSchema", "properties", "labels"}


def _normalized(value, free: bool):
    if isinstance(value, list):
        return [_normalized(v, free) for v in value]
    if not isinstance(value, dict) or free:
        return value
    out = {}
    for key, inner in value.items():
        key = camel(key)
        if key == "properties":
            # Property names are the user's; each property's schema is parsed again.
            out[key] = {name: _normalized(schema, False) for name, schema in inner.items()} if isinstance(inner, dict) else inner
        else:
            out[key] = _normalized(inner, key in _FREE_FORM)
    return out


def check_auth(headers: dict, query: str) -> ErrorReply | None:
    """The real API takes `x-goog-api-key` (or `?key=`)."""
    key = headers.get("x-goog-api-key") or dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("key")
    if not key:
        return ErrorReply(403, "authentication", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
    if key != API_KEY:
        return ErrorReply(400, "invalid_request", "API key not valid. Please pass a valid API key.")
    return None


def validate(body) -> dict:
    """The body in lowerCamelCase; raise `Invalid` for anything the real API would refuse."""
    if not isinstance(body, dict):
        raise Invalid("Invalid JSON payload received. Expected an object.")
    body = normalized(body)
    _unknown(body, _FIELDS, "")
    _unknown(body.get("generationConfig") or {}, _GENERATION_FIELDS, "generation_config")
    system = body.get("systemInstruction")
    if system is not None:
        _parts(system.get("parts"), "system_instruction")
    _contents(body.get("contents"))
    for i, tool in enumerate(body.get("tools") or []):
        _unknown(tool, _TOOL_FIELDS, f"tools[{i}]")
        for j, declaration in enumerate(tool.get("functionDeclarations") or []):
            where = f"tools[{i}].function_declarations[{j}]"
            _unknown(declaration, _DECLARATION_FIELDS, where)
            if not declaration.get("name"):
                raise Invalid(f"* GenerateContentRequest.{where}.name: Name cannot be empty.")
            if "parameters" in declaration and "parametersJsonSchema" in declaration:
                raise Invalid(f"* GenerateContentRequest.{where}: parameters and parameters_json_schema are mutually exclusive.")
            if "parameters" in declaration:
                _schema(declaration["parameters"], f"{where}.parameters")
    return body


def _unknown(obj: dict, allowed: set, where: str) -> None:
    if not isinstance(obj, dict):
        raise Invalid(f"Invalid JSON payload received. Invalid value at '{where}': expected an object.")
    for key in obj:
        if key not in allowed:
            at = f" at '{where}'" if where else ""
            raise Invalid(f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.')


def _schema(schema, where: str) -> None:
    _unknown(schema, _SCHEMA_FIELDS, where)
    kind = schema.get("type")
    if kind is not None and (not isinstance(kind, str) or kind.upper() not in _SCHEMA_TYPES):
        raise Invalid(f"Invalid JSON payload received. Invalid value at '{where}.type' ({kind!r})")
    for name, inner in (schema.get("properties") or {}).items():
        _schema(inner, f"{where}.properties[{name}].value")
    if "items" in schema:
        _schema(schema["items"], f"{where}.items")
    for k, inner in enumerate(schema.get("anyOf") or []):
        _schema(inner, f"{where}.any_of[{k}]")


def _parts(parts, where: str) -> list:
    if not isinstance(parts, list) or not parts:
        raise Invalid(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.")
    for k, part in enumerate(parts):
        _unknown(part, _PART_FIELDS, f"{where}.parts[{k}]")
        data = [key for key in part if key in _PART_DATA]
        if len(data) != 1:
            raise Invalid(f"* GenerateContentRequest.{where}.parts[{k}].data: required oneof field 'data' must have one initialized field")
        if "inlineData" in part and not (part["inlineData"].get("mimeType") and part["inlineData"].get("data")):
            raise Invalid(f"* GenerateContentRequest.{where}.parts[{k}].inline_data: mime_type and data are required.")
        if "functionCall" in part and not part["functionCall"].get("name"):
            raise Invalid(f"* GenerateContentRequest.{where}.parts[{k}].function_call.name: Name cannot be empty.")
        if "functionResponse" in part and not part["functionResponse"].get("name"):
            raise Invalid(f"* GenerateContentRequest.{where}.parts[{k}].function_response.name: Name cannot be empty.")
        signature = part.get("thoughtSignature")
        if signature is not None and signature != SKIP_SIGNATURE and signature not in ISSUED_SIGNATURES:
            raise Invalid("Corrupted thought signature.")
    return parts


def _contents(contents) -> None:
    if not isinstance(contents, list) or not contents:
        raise Invalid("* GenerateContentRequest.contents: contents is not specified")
    previous = None
    pending_calls = 0
    for i, content in enumerate(contents):
        role = content.get("role") if isinstance(content, dict) else None
        if role not in {"user", "model", "function"}:
            raise Invalid(f"* GenerateContentRequest.contents[{i}].role: Please use a valid role: user, model.")
        side = "model" if role == "model" else "user"
        if i == 0 and side != "user":
            raise Invalid("Please ensure that multiturn requests start with a user turn.")
        if side == previous:
            raise Invalid("Please ensure that multiturn requests alternate between user and model.")
        parts = _parts(content.get("parts"), f"contents[{i}]")
        responses = sum(1 for p in parts if "functionResponse" in p)
        if pending_calls and responses != pending_calls:
            raise Invalid("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.")
        pending_calls = sum(1 for p in parts if "functionCall" in p) if side == "model" else 0
        previous = side


def last_user_text(body: dict) -> str:
    """The text (or function response) of the last user turn, for echo replies."""
    for content in reversed(body.get("contents") or []):
        if content.get("role") == "model":
            continue
        pieces = []
        for part in content.get("parts") or []:
            if "text" in part:
                pieces.append(part["text"])
            elif "functionResponse" in part:
                pieces.append(json.dumps(part["functionResponse"].get("response")))
        return " ".join(pieces)
    return ""


def error_body(reply: ErrorReply) -> tuple[int, dict, bytes]:
    """Status, headers and body of an error, as the real API shapes them."""
    status, name = _ERRORS[reply.kind]
    if reply.kind in ("invalid_request", "authentication"):
        status = reply.status  # 400 bad key and 403 no key are both real
    headers = {"content-type": "application/json; charset=UTF-8"}
    error = {"code": status, "message": reply.message, "status": name if status != 403 else "PERMISSION_DENIED"}
    if reply.retry_after is not None:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{reply.retry_after}s"}]
    return status, headers, json.dumps({"error": error}).encode()


def _parts_of(reply: Reply) -> list[dict]:
    parts = []
    for block in reply.blocks:
        if isinstance(block, ThinkingBlock):
            ISSUED_SIGNATURES.add(block.signature)
            parts.append({"text": block.thinking, "thought": True, "thoughtSignature": block.signature})
        elif isinstance(block, TextBlock):
            parts.append({"text": block.text})
        elif isinstance(block, ToolUseBlock):
            parts.append({"functionCall": {"name": block.name, "args": block.arguments}})
    return parts


def _usage(reply: Reply) -> dict:
    thoughts = 4 if any(isinstance(b, ThinkingBlock) for b in reply.blocks) else 0
    usage = {
        "promptTokenCount": reply.input_tokens,
        "candidatesTokenCount": reply.output_tokens,
        "totalTokenCount": reply.input_tokens + reply.output_tokens + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": reply.input_tokens}],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _response(parts: list[dict], model: str, response_id: str, finish: bool, reply: Reply) -> dict:
    candidate = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = "STOP"  # STOP after function calls too
    out = {"candidates": [candidate], "modelVersion": model, "responseId": response_id}
    if finish:
        out["usageMetadata"] = _usage(reply)
    return out


def response_json(reply: Reply, model: str) -> bytes:
    """A complete `GenerateContentResponse`."""
    return json.dumps(_response(_parts_of(reply), model, next_id("resp-"), True, reply)).encode()


def _chunks(reply: Reply, model: str) -> list[dict]:
    """The chunks of a streamed answer: text in pieces, a function call whole, the
    finish reason and usage on the last chunk."""
    response_id = next_id("resp-")
    pieces: list[dict] = []
    for part in _parts_of(reply):
        if "text" in part and not part.get("thought"):
            pieces.extend({"text": piece} for piece in chunk_text(part["text"]))
        else:
            pieces.append(part)
    return [_response([piece], model, response_id, i == len(pieces) - 1, reply) for i, piece in enumerate(pieces)]


def sse_events(reply: Reply, model: str):
    """`alt=sse`: `data:`-only SSE frames, one chunk each (the real API sends CRLF pairs)."""
    for chunk in _chunks(reply, model):
        yield f"data: {json.dumps(chunk)}\r\n\r\n".encode()


def json_array_stream(reply: Reply, model: str):
    """Without `alt=sse`: one JSON array, streamed element by element."""
    chunks = _chunks(reply, model)
    for i, chunk in enumerate(chunks):
        yield (b"[" if i == 0 else b",\r\n") + json.dumps(chunk).encode() + (b"]" if i == len(chunks) - 1 else b"")
