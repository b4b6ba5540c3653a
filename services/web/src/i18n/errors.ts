// Every error code a person can meet, in words they understand, in each language.
// The API's codes come from its Python sources (errors.test.ts scans them, so a new code
// without an entry here fails the tests); the rest are the client's own and the proxy's.
import type { Lang } from "./lang";

type Sentences = Record<Lang, string>;

const uploadRefused: Sentences = {
  en: "The upload was refused. Please try again.",
  ko: "업로드가 거부되었습니다. 다시 시도해 주세요.",
};
const pushInvalid: Sentences = {
  en: "This browser's notification subscription is not valid.",
  ko: "이 브라우저의 알림 구독 정보가 올바르지 않습니다.",
};

export const ERROR_SENTENCES: Record<string, Sentences> = {
  // -- accounts and sessions
  account_disabled: {
    en: "This account has been disabled.",
    ko: "이 계정은 사용이 중지되었습니다.",
  },
  admin_required: {
    en: "Only an administrator can do this.",
    ko: "관리자만 할 수 있는 작업입니다.",
  },
  email_taken: {
    en: "An account with this email already exists. Try logging in.",
    ko: "이미 이 이메일로 가입된 계정이 있습니다. 로그인해 보세요.",
  },
  invalid_credentials: {
    en: "The email or password is not right.",
    ko: "이메일 또는 비밀번호가 올바르지 않습니다.",
  },
  registration_required: {
    en: "Guests cannot do this. Register an account first.",
    ko: "게스트는 할 수 없는 작업입니다. 먼저 회원가입을 해 주세요.",
  },
  token_expired: {
    en: "Your session has expired. Please sign in again.",
    ko: "로그인이 만료되었습니다. 다시 로그인해 주세요.",
  },
  token_invalid: {
    en: "Your session is no longer valid. Please sign in again.",
    ko: "로그인 정보가 더 이상 유효하지 않습니다. 다시 로그인해 주세요.",
  },
  token_missing: {
    en: "Please sign in first.",
    ko: "먼저 로그인해 주세요.",
  },
  unauthorized: {
    en: "Please sign in again.",
    ko: "다시 로그인해 주세요.",
  },
  user_not_found: {
    en: "That user does not exist.",
    ko: "사용자를 찾을 수 없습니다.",
  },
  username_taken: {
    en: "This username is taken. Pick another one.",
    ko: "이미 사용 중인 사용자 이름입니다. 다른 이름을 골라 주세요.",
  },

  // -- tasks
  invalid_params: {
    en: "Some of the mural's settings are not valid.",
    ko: "벽화 설정 중 올바르지 않은 값이 있습니다.",
  },
  max_attempts_exceeded: {
    en: "The mural could not be made after several tries. Please try again later.",
    ko: "여러 번 시도했지만 벽화를 만들지 못했습니다. 잠시 후 다시 시도해 주세요.",
  },
  task_already_submitted: {
    en: "This mural was already submitted.",
    ko: "이미 제출된 벽화입니다.",
  },
  task_not_completed: {
    en: "This mural is not finished yet.",
    ko: "아직 완성되지 않은 벽화입니다.",
  },
  task_not_found: {
    en: "That mural could not be found.",
    ko: "벽화 작업을 찾을 수 없습니다.",
  },
  too_many_active_tasks: {
    en: "You have too many murals in progress. Wait for one to finish, or cancel one.",
    ko: "진행 중인 벽화가 너무 많습니다. 하나가 끝날 때까지 기다리거나 하나를 취소해 주세요.",
  },
  unknown_kind: {
    en: "The server does not know this kind of job.",
    ko: "서버가 알지 못하는 작업 종류입니다.",
  },
  no_worker: {
    en: "No painter for this is running right now.",
    ko: "지금은 이 작업을 하는 서버가 실행되고 있지 않습니다.",
  },
  unsupported_kind: {
    en: "No painter can do this kind of job right now.",
    ko: "지금은 이 종류의 작업을 할 수 있는 서버가 없습니다.",
  },
  theme_unavailable: {
    en: "No painter can paint this theme right now. Pick another theme.",
    ko: "지금은 이 테마로 그릴 수 있는 서버가 없습니다. 다른 테마를 골라 주세요.",
  },
  no_wall_found: {
    en: "We could not find a wall in this photo. Try one with more of the wall in view.",
    ko: "사진에서 벽을 찾지 못했습니다. 벽이 더 잘 보이는 사진으로 시도해 주세요.",
  },
  input_missing: {
    en: "Your photo is no longer stored. Please start again with the photo.",
    ko: "올린 사진이 더 이상 저장되어 있지 않습니다. 사진부터 다시 시작해 주세요.",
  },
  input_undecodable: {
    en: "Your photo could not be read. Try another photo.",
    ko: "사진을 읽을 수 없습니다. 다른 사진으로 시도해 주세요.",
  },
  empty_sketch: {
    en: "The drawing has no lines to follow. Draw something first.",
    ko: "따라 그릴 선이 없습니다. 먼저 무언가를 그려 주세요.",
  },
  stitch_failed: {
    en: "The photos could not be joined. Try photos that overlap more.",
    ko: "사진들을 이어 붙이지 못했습니다. 더 많이 겹치는 사진으로 시도해 주세요.",
  },
  out_of_memory: {
    en: "The painter ran out of memory. Please try again.",
    ko: "그림을 그리는 서버의 메모리가 부족했습니다. 다시 시도해 주세요.",
  },
  device_unavailable: {
    en: "The painter is not set up correctly right now. Please try again later.",
    ko: "그림을 그리는 서버의 설정에 문제가 있습니다. 잠시 후 다시 시도해 주세요.",
  },
  model_unavailable: {
    en: "The painter is missing a model it needs. Please try again later.",
    ko: "그림을 그리는 서버에 필요한 모델이 없습니다. 잠시 후 다시 시도해 주세요.",
  },
  noop_failed: {
    en: "The test job failed, as it was asked to.",
    ko: "요청한 대로 테스트 작업이 실패했습니다.",
  },
  noop_transient: {
    en: "The test job failed for a moment, as it was asked to.",
    ko: "요청한 대로 테스트 작업이 잠시 실패했습니다.",
  },

  // -- uploads
  mask_size_mismatch: {
    en: "The wall mask is not the same size as the photo.",
    ko: "벽 마스크와 사진의 크기가 다릅니다.",
  },
  too_many_uploads: {
    en: "This mural already has as many files as it can take.",
    ko: "이 벽화에 올릴 수 있는 파일 수를 넘었습니다.",
  },
  upload_empty: {
    en: "The photo file is empty.",
    ko: "사진 파일이 비어 있습니다.",
  },
  upload_expired: {
    en: "The upload took too long and expired. Please try again.",
    ko: "업로드 시간이 너무 오래 걸려 만료되었습니다. 다시 시도해 주세요.",
  },
  upload_field_mismatch: uploadRefused,
  upload_form_invalid: uploadRefused,
  upload_policy_invalid: uploadRefused,
  upload_signature_invalid: uploadRefused,
  upload_file_missing: {
    en: "No file arrived with the upload. Please try again.",
    ko: "업로드에 파일이 없습니다. 다시 시도해 주세요.",
  },
  upload_missing: {
    en: "The photo has not finished uploading. Please try again.",
    ko: "사진 업로드가 끝나지 않았습니다. 다시 시도해 주세요.",
  },
  upload_not_found: {
    en: "That upload no longer exists.",
    ko: "업로드한 파일을 찾을 수 없습니다.",
  },
  upload_required: {
    en: "A photo is needed first.",
    ko: "먼저 사진이 필요합니다.",
  },
  upload_role_unexpected: {
    en: "This job does not take that kind of file.",
    ko: "이 작업에는 맞지 않는 종류의 파일입니다.",
  },
  upload_too_large: {
    en: "The photo file is too large.",
    ko: "사진 파일이 너무 큽니다.",
  },
  payload_too_large: {
    en: "What was sent is too large.",
    ko: "보낸 내용이 너무 큽니다.",
  },
  upload_too_large_dimensions: {
    en: "The photo is too large. Use a smaller one.",
    ko: "사진의 크기가 너무 큽니다. 더 작은 사진을 써 주세요.",
  },
  upload_too_many_pixels: {
    en: "The photo has too many pixels. Use a smaller one.",
    ko: "사진의 화소 수가 너무 많습니다. 더 작은 사진을 써 주세요.",
  },
  upload_too_small: {
    en: "The photo is too small. Use a larger one.",
    ko: "사진이 너무 작습니다. 더 큰 사진을 써 주세요.",
  },
  upload_type_mismatch: {
    en: "The file is not the kind of picture it claims to be.",
    ko: "파일의 내용이 표시된 형식과 다릅니다.",
  },
  upload_type_unsupported: {
    en: "This kind of file is not accepted. Use a JPEG, PNG or WebP photo.",
    ko: "받을 수 없는 파일 형식입니다. JPEG, PNG, WebP 사진을 써 주세요.",
  },
  upload_undecodable: {
    en: "The photo could not be read. It may be damaged.",
    ko: "사진을 읽을 수 없습니다. 파일이 손상되었을 수 있습니다.",
  },
  object_not_found: {
    en: "That file no longer exists.",
    ko: "파일을 찾을 수 없습니다.",
  },
  download_expired: {
    en: "This download link has expired. Open the mural again for a new one.",
    ko: "다운로드 링크가 만료되었습니다. 벽화를 다시 열어 새 링크를 받아 주세요.",
  },
  download_signature_invalid: {
    en: "This download link is not valid.",
    ko: "올바르지 않은 다운로드 링크입니다.",
  },

  // -- board (later increments show these; the API can already send them)
  comment_not_found: {
    en: "That comment no longer exists.",
    ko: "댓글을 찾을 수 없습니다.",
  },
  duplicate_image: {
    en: "This picture is already in the post.",
    ko: "이미 게시물에 있는 사진입니다.",
  },
  not_author: {
    en: "Only the author can change or delete this.",
    ko: "작성자만 수정하거나 삭제할 수 있습니다.",
  },
  post_not_found: {
    en: "That post no longer exists.",
    ko: "게시물을 찾을 수 없습니다.",
  },
  post_not_remixable: {
    en: "This post cannot be remixed.",
    ko: "이 게시물은 리믹스할 수 없습니다.",
  },
  result_not_found: {
    en: "That result no longer exists.",
    ko: "결과물을 찾을 수 없습니다.",
  },

  // -- notifications and webhooks
  push_auth_invalid: pushInvalid,
  push_endpoint_invalid: pushInvalid,
  push_p256dh_invalid: pushInvalid,
  push_subscription_not_found: {
    en: "That notification subscription no longer exists.",
    ko: "알림 구독을 찾을 수 없습니다.",
  },
  push_unavailable: {
    en: "Notifications are not available on this server.",
    ko: "이 서버에서는 알림을 사용할 수 없습니다.",
  },
  too_many_push_subscriptions: {
    en: "Too many browsers get notifications for this account. Remove one first.",
    ko: "이 계정의 알림을 받는 브라우저가 너무 많습니다. 먼저 하나를 삭제해 주세요.",
  },
  too_many_webhooks: {
    en: "This account has as many webhooks as it may have.",
    ko: "이 계정에 만들 수 있는 웹훅 수를 넘었습니다.",
  },
  webhook_not_found: {
    en: "That webhook no longer exists.",
    ko: "웹훅을 찾을 수 없습니다.",
  },
  webhook_url_not_allowed: {
    en: "This webhook address is not allowed.",
    ko: "허용되지 않는 웹훅 주소입니다.",
  },

  // -- the task websocket
  invalid_options: {
    en: "The live preview settings were not accepted.",
    ko: "실시간 미리보기 설정이 받아들여지지 않았습니다.",
  },
  unknown_message: {
    en: "The live connection got a message it does not understand.",
    ko: "실시간 연결이 알 수 없는 메시지를 받았습니다.",
  },
  stream_unauthorized: {
    en: "The live view could not sign in. Please sign in again.",
    ko: "실시간 보기에 로그인하지 못했습니다. 다시 로그인해 주세요.",
  },

  // -- generic answers
  invalid_request: {
    en: "Some of what you entered is not valid. Please check the form.",
    ko: "입력한 내용 중 올바르지 않은 값이 있습니다. 다시 확인해 주세요.",
  },
  invalid_cursor: {
    en: "The list could not go on from there. Please reload it.",
    ko: "목록을 이어서 불러올 수 없습니다. 새로고침해 주세요.",
  },
  rate_limited: {
    en: "That was a lot of requests at once. Wait a minute and try again.",
    ko: "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
  },
  forbidden: {
    en: "You are not allowed to do this.",
    ko: "이 작업을 할 권한이 없습니다.",
  },
  not_found: {
    en: "That could not be found.",
    ko: "찾을 수 없습니다.",
  },
  method_not_allowed: {
    en: "The server does not allow this request.",
    ko: "서버가 허용하지 않는 요청입니다.",
  },
  not_ready: {
    en: "The service is starting up. Please try again in a moment.",
    ko: "서비스를 준비하는 중입니다. 잠시 후 다시 시도해 주세요.",
  },
  internal_error: {
    en: "Something went wrong on our side. Please try again.",
    ko: "서버에 문제가 생겼습니다. 다시 시도해 주세요.",
  },
  // The public proxy's answer when a service is down (infra/proxy/Caddyfile).
  upstream_unavailable: {
    en: "The service cannot be reached right now. Please try again in a moment.",
    ko: "지금은 서비스에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
  },

  message_too_deep: {
    en: "A message to the server was nested too deeply to be read.",
    ko: "서버로 보낸 메시지가 너무 깊게 중첩되어 읽을 수 없습니다.",
  },
  message_too_large: {
    en: "A message to the server was too large.",
    ko: "서버로 보낸 메시지가 너무 큽니다.",
  },
  service_unavailable: {
    en: "The service is briefly unavailable. Please try again in a few seconds.",
    ko: "서비스를 잠시 사용할 수 없습니다. 몇 초 뒤에 다시 시도해 주세요.",
  },
  request_too_large: {
    en: "That request was too large for the server.",
    ko: "요청이 너무 커서 서버가 받을 수 없습니다.",
  },
  invalid_path: {
    en: "That address is not valid.",
    ko: "올바르지 않은 주소입니다.",
  },
  // -- the client's own
  mask_required: {
    en: "This mural's wall was painted by hand: paint it again on the photo.",
    ko: "이 벽화의 벽은 직접 칠한 것입니다. 사진 위에 다시 칠해 주세요.",
  },
  mask_unexpected: {
    en: "A painted mask goes only with a wall painted by hand. Choose the brush, or remove the mask.",
    ko: "칠한 마스크는 붓으로 벽을 칠할 때만 씁니다. 붓을 고르거나 마스크를 지워 주세요.",
  },
  network_error: {
    en: "No connection to the server. Check your internet and try again.",
    ko: "서버에 연결할 수 없습니다. 인터넷 연결을 확인하고 다시 시도해 주세요.",
  },
  http_error: {
    en: "The server gave an unexpected answer. Please try again.",
    ko: "서버가 예상하지 못한 응답을 보냈습니다. 다시 시도해 주세요.",
  },
  image_undecodable: {
    en: "This browser cannot open that picture. Try a JPEG or PNG photo.",
    ko: "이 브라우저에서 그 사진을 열 수 없습니다. JPEG나 PNG 사진으로 시도해 주세요.",
  },
  image_too_small: {
    en: "The photo is too small. Use a larger one.",
    ko: "사진이 너무 작습니다. 더 큰 사진을 써 주세요.",
  },
  image_too_large: {
    en: "The photo could not be made small enough to send. Try another photo.",
    ko: "사진을 보낼 수 있을 만큼 줄이지 못했습니다. 다른 사진으로 시도해 주세요.",
  },
  // notifications (src/push/)
  notifications_blocked: {
    en: "Notifications are blocked for this site. To get them, allow notifications for this site in your browser's settings.",
    ko: "이 사이트의 알림이 차단되어 있습니다. 알림을 받으려면 브라우저 설정에서 이 사이트의 알림을 허용해 주세요.",
  },
  notifications_dismissed: {
    en: "Notifications were not allowed. Try again and choose Allow when the browser asks.",
    ko: "알림이 허용되지 않았습니다. 다시 시도하고 브라우저가 물어보면 '허용'을 선택해 주세요.",
  },
  push_unsupported: {
    en: "This browser cannot get notifications from websites. On an iPhone or iPad, add Saekdam to your Home Screen and open it from there.",
    ko: "이 브라우저는 웹사이트 알림을 받을 수 없습니다. iPhone이나 iPad에서는 색담을 홈 화면에 추가한 뒤 그곳에서 열어 주세요.",
  },
  push_insecure_context: {
    en: "Notifications need a secure (https) connection to this site.",
    ko: "알림을 받으려면 이 사이트에 보안(https) 연결로 접속해야 합니다.",
  },
  service_worker_unavailable: {
    en: "Notifications need the app's background service, which is not running on this page. Reload the page and try again.",
    ko: "알림에 필요한 앱의 백그라운드 서비스가 이 페이지에서 실행되고 있지 않습니다. 페이지를 새로고침한 뒤 다시 시도해 주세요.",
  },
  push_key_invalid: {
    en: "The server's notification settings are not valid. Please try again later.",
    ko: "서버의 알림 설정이 올바르지 않습니다. 나중에 다시 시도해 주세요.",
  },
  push_subscribe_failed: {
    en: "This browser could not set up notifications. Please try again later.",
    ko: "이 브라우저에서 알림을 설정하지 못했습니다. 나중에 다시 시도해 주세요.",
  },
};

/** What to tell a person about an error: our sentence for its code, else the server's. */
export function errorSentence(
  lang: Lang,
  error: { code?: string | null; message?: string | null } | null | undefined,
): string {
  const known = error?.code ? ERROR_SENTENCES[error.code] : undefined;
  if (known) return known[lang];
  if (error?.message) return error.message;
  return lang === "ko" ? "문제가 생겼습니다. 다시 시도해 주세요." : "Something went wrong. Please try again.";
}
