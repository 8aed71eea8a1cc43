//! The one list of problem codes. Codes are a contract (api.md): the widget,
//! the backend, operators' scripts and `intake check --json` all speak them.
//! `docs/codes.md` is generated from this table and a test keeps it in sync.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::report::Severity;

/// One catalog row.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The stable `area.problem` string.
    pub code: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Message template, zh-CN; `{name}` placeholders are filled by the check.
    pub zh: &'static str,
    /// Message template, English.
    pub en: &'static str,
    /// Fix hint, zh-CN.
    pub hint_zh: &'static str,
    /// Fix hint, English.
    pub hint_en: &'static str,
}

macro_rules! catalog {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $sev:ident,
        zh: $zh:literal, en: $en:literal, hint_zh: $hzh:literal, hint_en: $hen:literal; )*) => {
        /// A stable problem code. Serialized as its `area.problem` string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $(#[$doc])* $variant, )* }

        impl Code {
            /// Every code, in catalog order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The catalog row of this code.
            pub fn entry(self) -> &'static Entry {
                match self {
                    $( Code::$variant => &Entry {
                        code: $code, severity: Severity::$sev, zh: $zh, en: $en, hint_zh: $hzh, hint_en: $hen,
                    }, )*
                }
            }
        }
    };
}

catalog! {
    // ---- files, whatever the part ----
    FileEmpty = "file.empty", Error,
        zh: "文件为空。", en: "The file is empty.",
        hint_zh: "请重新选择文件。", hint_en: "Choose the file again.";
    FileUnsupportedFormat = "file.unsupported_format", Error,
        zh: "不支持的文件格式（识别为 {detected}），仅接受 {accepted}。", en: "Unsupported file format (detected: {detected}); accepted: {accepted}.",
        hint_zh: "请导出为 JPEG 或 PNG 后重新上传（苹果手机可在“设置-相机-格式”中选择“兼容性最佳”）。", hint_en: "Export the picture as JPEG or PNG and upload it again (on an iPhone: Settings > Camera > Formats > Most Compatible).";
    FileTooLarge = "file.too_large", Error,
        zh: "文件过大：{size}，上限为 {limit}。", en: "The file is too large: {size}; the limit is {limit}.",
        hint_zh: "请压缩或缩小后重新上传。", hint_en: "Compress or shrink the file and upload it again.";
    FilePdfEncrypted = "file.pdf_encrypted", Error,
        zh: "PDF 文件已加密或设置了密码，无法审核。", en: "The PDF is encrypted or password-protected and cannot be reviewed.",
        hint_zh: "请用“打印为 PDF”重新导出，不要加密，或上传证明材料的照片。", hint_en: "Re-export it with “Print to PDF” without a password, or upload a photo of the document.";
    FilePdfInvalid = "file.pdf_invalid", Error,
        zh: "PDF 文件不完整、已损坏或并非真正的 PDF。", en: "The PDF is incomplete, damaged or not really a PDF.",
        hint_zh: "请用“打印为 PDF”重新导出后上传。", hint_en: "Export it again with “Print to PDF” and upload it.";
    // ---- PDFs, parsed and rewritten (rules/src/pdf.rs; issue 11) ----
    FilePdfCheckerUnavailable = "file.pdf_checker_unavailable", Error,
        zh: "未能加载 PDF 检查程序，无法审核此 PDF。", en: "The PDF checker could not be loaded, so this PDF could not be reviewed.",
        hint_zh: "请检查网络连接后重新选择该文件；如仍失败，请刷新页面，或上传证明材料的照片。", hint_en: "Check your connection and choose the file again; if it still fails, reload the page or upload a photo of the document.";
    FilePdfActiveContent = "file.pdf_active_content", Error,
        zh: "PDF 含有脚本、外部程序启动、嵌入文件、多媒体或 XFA 交互表单等活动内容（{what}），出于安全原因不能接收。", en: "The PDF carries active or embedded content ({what}) and cannot be accepted for safety reasons.",
        hint_zh: "请用“打印为 PDF”重新导出证明材料（不要嵌入附件、脚本或表单），或上传证明材料的照片。", hint_en: "Re-export the document with “Print to PDF” (no attachments, scripts or forms), or upload a photo of it.";
    FilePdfNoPages = "file.pdf_no_pages", Error,
        zh: "PDF 中没有任何有内容的页面。", en: "The PDF has no page with any content.",
        hint_zh: "请确认导出了证明材料所在的页面，用“打印为 PDF”重新导出后上传。", hint_en: "Make sure the pages of the document were exported; re-export it with “Print to PDF” and upload it again.";
    FilePdfTooManyPages = "file.pdf_too_many_pages", Error,
        zh: "PDF 页数过多，上限为 {max} 页。", en: "The PDF has too many pages; at most {max} are accepted.",
        hint_zh: "请只导出证明材料所需的页面后重新上传。", hint_en: "Export only the pages the proof needs and upload them again.";
    FilePdfTooComplex = "file.pdf_too_complex", Error,
        zh: "PDF 结构过于复杂，无法安全检查（{what}超过上限 {max}）。", en: "The PDF is too complex to check safely ({what_en} over the limit of {max}).",
        hint_zh: "请用“打印为 PDF”重新导出，不要加密，或上传证明材料的照片。", hint_en: "Re-export it with “Print to PDF”, without encryption, or upload a photo of the document.";
    FilePdfStreamTooLarge = "file.pdf_stream_too_large", Error,
        zh: "PDF 内的数据解压后过大（{what}超过上限 {max}）。", en: "Data inside the PDF decompresses to too much ({what_en} over the limit of {max}).",
        hint_zh: "请用“打印为 PDF”重新导出，或上传证明材料的照片。", hint_en: "Re-export it with “Print to PDF”, or upload a photo of the document.";
    // ---- end of the PDF block ----
    FileHeicUnsupported = "file.heic_unsupported", Error,
        zh: "此浏览器无法读取 HEIC/HEIF 格式的照片。", en: "This browser cannot read HEIC/HEIF photos.",
        hint_zh: "请改用 JPEG：苹果手机可在“设置 → 相机 → 格式”中选择“兼容性最佳”后重新拍摄，或在“照片”中选中照片，点“共享”→“存储到文件”前在“选项”里选择“最兼容”（JPEG）后再上传。", hint_en: "Use a JPEG instead: on an iPhone choose Settings → Camera → Formats → Most Compatible and take the picture again, or share the photo from Photos with Options → Most Compatible (JPEG) and upload that file.";
    FileProcessingFailed = "file.processing_failed", Error,
        zh: "浏览器处理图片时出错，未能完成检查。", en: "The browser failed while processing the picture; the check did not finish.",
        hint_zh: "请重新选择文件；如仍失败，请刷新页面或换用其他浏览器。", hint_en: "Choose the file again; if it still fails, reload the page or use another browser.";
    FileTooMany = "file.too_many", Error,
        zh: "{field}最多上传 {max} 个文件，实际 {count} 个。", en: "At most {max} files may be uploaded for the {field_en}; got {count}.",
        hint_zh: "请删除多余的文件。", hint_en: "Remove the extra files.";

    // ---- image decoding ----
    ImageCorrupt = "image.corrupt", Error,
        zh: "图片已损坏或不完整，无法读取。", en: "The image is damaged or incomplete and cannot be read.",
        hint_zh: "请重新拍摄或重新导出图片。", hint_en: "Take or export the picture again.";
    ImageDimensionsOverLimit = "image.dimensions_over_limit", Error,
        zh: "图片尺寸 {width}×{height} 超出上限 {max}×{max} 像素。", en: "The image is {width}×{height} pixels, over the {max}×{max} limit.",
        hint_zh: "请缩小图片后重新上传。", hint_en: "Shrink the picture and upload it again.";
    // ---- image structure (issue 11: the sanitizer) ----
    ImageUnsupportedEncoding = "image.unsupported_encoding", Error,
        zh: "图片采用了不支持的 JPEG 编码方式（{encoding}），无法读取。", en: "The picture uses a JPEG encoding that cannot be read ({encoding}).",
        hint_zh: "请用看图或修图软件打开图片，另存为（导出为）普通 JPEG 后重新上传。", hint_en: "Open the picture in a viewer or photo editor, save (export) it as a normal JPEG and upload that file.";
    ImageMalformedSegments = "image.malformed_segments", Error,
        zh: "图片文件结构异常（{detail}），无法安全处理。", en: "The picture's file structure is damaged or unusual ({detail}) and cannot be handled safely.",
        hint_zh: "请用看图或修图软件打开图片，另存为普通 JPEG 后重新上传。", hint_en: "Open the picture in a viewer or photo editor, save it as a normal JPEG and upload that file.";
    ImageColourSpace = "image.colour_space", Error,
        zh: "证件照的色彩格式为 {detected}，须为普通 RGB JPEG。", en: "The standard photo is stored as {detected}; it must be an ordinary RGB JPEG.",
        hint_zh: "自动修正会转换为普通 JPEG。", hint_en: "The automatic fix converts it to an ordinary JPEG.";

    // ---- the standard photo (FAQ 5) ----
    PhotoNotJpeg = "photo.not_jpeg", Error,
        zh: "证件照须为 JPEG 格式，当前为 {detected}。", en: "The standard photo must be a JPEG; this one is {detected}.",
        hint_zh: "自动修正会转换为 JPEG。", hint_en: "The automatic fix converts it to JPEG.";
    PhotoTooSmall = "photo.too_small", Error,
        zh: "照片像素过小：{width}×{height}，至少需要 {min_width}×{min_height}，小照片不能放大使用。", en: "The photo is too small: {width}×{height}; at least {min_width}×{min_height} is required and small photos are never enlarged.",
        hint_zh: "请用手机或相机重新拍摄，或使用原始照片文件而不是截图。", hint_en: "Take the photo again with a phone or camera, or use the original file rather than a screenshot.";
    PhotoPixelsOverMaximum = "photo.pixels_over_maximum", Error,
        zh: "照片像素 {width}×{height} 超过规格上限 {max_width}×{max_height}。", en: "The photo is {width}×{height}, over the profile's maximum of {max_width}×{max_height}.",
        hint_zh: "自动修正会裁剪并缩放到 {target_width}×{target_height}。", hint_en: "The automatic fix crops and resizes it to {target_width}×{target_height}.";
    PhotoAspectRatio = "photo.aspect_ratio", Error,
        zh: "照片宽高比为 {actual}，应为 {expected}（允许误差 {tolerance}）。", en: "The photo's aspect ratio is {actual}; it must be {expected} (within {tolerance}).",
        hint_zh: "自动修正会围绕人像裁剪。", hint_en: "The automatic fix crops around the person.";
    PhotoBytesOutOfRange = "photo.bytes_out_of_range", Error,
        zh: "照片文件大小为 {size}，应在 {min} 到 {max} 之间。", en: "The photo file is {size}; it must be between {min} and {max}.",
        hint_zh: "自动修正会重新压缩到规定大小。", hint_en: "The automatic fix re-encodes it into the allowed size.";
    PhotoExifRotated = "photo.exif_rotated", Error,
        zh: "照片依靠拍摄方向标记（EXIF {orientation}）显示，部分系统会显示为横躺。", en: "The photo relies on an EXIF orientation tag ({orientation}) and shows sideways on some systems.",
        hint_zh: "自动修正会把照片转正。", hint_en: "The automatic fix turns the pixels upright.";
    PhotoMetadataPresent = "photo.metadata_present", Warning,
        zh: "照片含有拍摄信息（{what}），上传前会被清除。", en: "The photo carries metadata ({what}); it is removed before upload.",
        hint_zh: "无需处理，自动修正会清除。", hint_en: "Nothing to do: the automatic fix removes it.";
    PhotoBackgroundColour = "photo.background_colour", Error,
        zh: "背景颜色不符合要求：检测到{detected}，要求{allowed}。", en: "Wrong background colour: detected {detected}, required {allowed}.",
        hint_zh: "请在{allowed}的纯色背景（如白墙）前重新拍摄，光线均匀。", hint_en: "Take the photo again in front of a plain {allowed} background (a white wall), evenly lit.";
    PhotoBackgroundNotUniform = "photo.background_not_uniform", Error,
        zh: "背景不是纯色（有图案、杂物或明显阴影）。", en: "The background is not plain (pattern, objects or strong shadows).",
        hint_zh: "请站在纯色墙面前约半米处重新拍摄，避免身后有杂物。", hint_en: "Stand about half a metre in front of a plain wall and take the photo again, with nothing behind you.";
    PhotoNoSubject = "photo.no_subject", Error,
        zh: "照片中未检测到人像。", en: "No person was found in the photo.",
        hint_zh: "请上传本人正面免冠证件照。", hint_en: "Upload a frontal, bare-headed photo of yourself.";
    PhotoHeadPosition = "photo.head_position", Error,
        zh: "头部位置不符合要求：{detail}。", en: "The head is not positioned correctly: {detail_en}.",
        hint_zh: "请让头部居中，头顶与照片上边缘留出少量空白；自动修正会尽量重新裁剪。", hint_en: "Centre the head with a little space above it; the automatic fix re-crops where it can.";
    PhotoHeadSize = "photo.head_size", Error,
        zh: "头部大小不符合要求：头宽占照片宽度 {ratio}，应在 {min} 到 {max} 之间。", en: "The head size is wrong: its width is {ratio} of the photo width; it must be between {min} and {max}.",
        hint_zh: "请调整拍摄距离，使头部和肩部清晰完整；自动修正会尽量重新裁剪。", hint_en: "Adjust the distance so head and shoulders fill the frame; the automatic fix re-crops where it can.";
    PhotoTooDark = "photo.too_dark", Error,
        zh: "照片过暗（面部平均亮度 {value}，至少 {min}）。", en: "The photo is too dark (mean face brightness {value}, at least {min}).",
        hint_zh: "请在光线充足、均匀的地方重新拍摄，避免逆光。", hint_en: "Take the photo again in bright, even light, not against the light.";
    PhotoTooBright = "photo.too_bright", Error,
        zh: "照片过亮（面部平均亮度 {value}，最多 {max}）。", en: "The photo is too bright (mean face brightness {value}, at most {max}).",
        hint_zh: "请避免强光直射或闪光灯，重新拍摄。", hint_en: "Avoid direct strong light or flash and take the photo again.";
    PhotoClipped = "photo.clipped", Error,
        zh: "人像有 {percent} 的区域曝光过度或死黑，细节丢失。", en: "{percent} of the person is blown out or crushed to black; detail is lost.",
        hint_zh: "请调整光线后重新拍摄。", hint_en: "Adjust the lighting and take the photo again.";
    PhotoBlurry = "photo.blurry", Error,
        zh: "照片模糊（清晰度 {value}，至少 {min}）。", en: "The photo is blurred (sharpness {value}, at least {min}).",
        hint_zh: "请对焦后保持手机稳定重新拍摄。", hint_en: "Focus, hold the phone steady and take the photo again.";
    PhotoNotColour = "photo.not_colour", Error,
        zh: "须为彩色照片，当前为黑白照片。", en: "A colour photo is required; this one is black and white.",
        hint_zh: "请上传彩色照片。", hint_en: "Upload a colour photo.";

    // ---- identity documents and attachments (FAQ 7, FAQ 10) ----
    DocumentMissing = "document.missing", Error,
        zh: "缺少必须上传的材料：{name}。", en: "A required document is missing: {name_en}.",
        hint_zh: "请拍摄或选择文件后上传。", hint_en: "Take a picture or choose a file and upload it.";
    DocumentNotExpected = "document.not_expected", Error,
        zh: "当前证件类型或岗位状态不需要上传{name}。", en: "The {name_en} does not belong to this certificate type or post status.",
        hint_zh: "请检查证件类型和岗位状态。", hint_en: "Check the certificate type and post status.";
    DocumentTooSmall = "document.too_small", Error,
        zh: "图片像素过小：{width}×{height}，至少需要 {min_long}×{min_short}，否则无法看清证件内容。", en: "The picture is too small to read: {width}×{height}; at least {min_long}×{min_short} is required.",
        hint_zh: "请让证件占满画面后重新拍摄。", hint_en: "Fill the frame with the document and take the picture again.";
    DocumentBlurry = "document.blurry", Error,
        zh: "证件图片模糊，文字无法看清（清晰度 {value}，至少 {min}）。", en: "The document picture is blurred and its text is unreadable (sharpness {value}, at least {min}).",
        hint_zh: "请对焦后保持手机稳定重新拍摄。", hint_en: "Focus, hold the phone steady and take the picture again.";
    DocumentGlare = "document.glare", Error,
        zh: "证件上有反光（约占画面 {percent}），可能遮挡文字。", en: "There is glare on the document (about {percent} of the picture) that may hide text.",
        hint_zh: "请避开灯光直射、关闭闪光灯后重新拍摄。", hint_en: "Avoid direct light, turn off the flash and take the picture again.";
    DocumentTooDark = "document.too_dark", Error,
        zh: "证件图片过暗（平均亮度 {value}，至少 {min}）。", en: "The document picture is too dark (mean brightness {value}, at least {min}).",
        hint_zh: "请在光线充足处重新拍摄。", hint_en: "Take the picture again in good light.";
    DocumentTooBright = "document.too_bright", Error,
        zh: "证件图片过亮（平均亮度 {value}，最多 {max}）。", en: "The document picture is too bright (mean brightness {value}, at most {max}).",
        hint_zh: "请避免强光后重新拍摄。", hint_en: "Avoid strong light and take the picture again.";
    DocumentAspectUnusual = "document.aspect_unusual", Warning,
        zh: "图片宽高比 {actual} 与证件不符，可能只拍到了一部分。", en: "The picture's aspect ratio {actual} does not fit the document; part of it may be missing.",
        hint_zh: "请确认证件四角完整在画面内。", hint_en: "Make sure all four corners of the document are in the picture.";
    DocumentSameImageBothSides = "document.same_image_both_sides", Error,
        zh: "{first}和{second}是同一张图片。", en: "The {first_en} and the {second_en} are the same picture.",
        hint_zh: "请分别拍摄两面后上传。", hint_en: "Photograph both sides separately and upload each.";
    DocumentSidesSwapped = "document.sides_swapped", Warning,
        zh: "{first}和{second}看起来上传反了。", en: "The {first_en} and the {second_en} look swapped.",
        hint_zh: "人像面应包含照片，国徽面应包含国徽；如确认无误可忽略此提示。", hint_en: "The portrait side shows the photo, the emblem side the national emblem; ignore this if they are right.";

    // ---- the form (rules.md §4) ----
    FormMalformed = "form.malformed", Error,
        zh: "表单数据格式错误：{detail}。", en: "The form data is malformed: {detail}.",
        hint_zh: "请刷新页面后重新填写。", hint_en: "Reload the page and fill in the form again.";
    FormRequired = "form.required", Error,
        zh: "请{action}{label}。", en: "{label_en} is required.",
        hint_zh: "此项为必填项，{action}后才能进入下一步。", hint_en: "{action_en} to go on to the next step.";
    FormTooLong = "form.too_long", Error,
        zh: "{label}过长（{length} 个字符，最多 {max} 个）。", en: "{label_en} is too long ({length} characters, at most {max}).",
        hint_zh: "请精简后重新填写。", hint_en: "Shorten it.";
    FormInvalidText = "form.invalid_text", Error,
        zh: "{label}含有不可见或控制字符。", en: "{label_en} contains invisible or control characters.",
        hint_zh: "请删除后重新输入，不要从其他文档粘贴。", hint_en: "Delete and type it again rather than pasting it.";
    FormInvalidChoice = "form.invalid_choice", Error,
        zh: "{label}的取值“{value}”无效。", en: "“{value}” is not a valid choice for {label_en}.",
        hint_zh: "请从列表中选择。", hint_en: "Choose from the list.";
    FormCertificateNumberLength = "form.certificate_number_length", Error,
        zh: "证件号码位数不正确。", en: "The certificate number has the wrong length.",
        hint_zh: "居民身份证和居住证为 18 位；请核对证件。", hint_en: "Resident ID cards and residence permits have 18 characters; check the card.";
    FormCertificateNumberCharacters = "form.certificate_number_characters", Error,
        zh: "证件号码含有不允许的字符。", en: "The certificate number contains characters that are not allowed.",
        hint_zh: "只能包含数字和字母（身份证最后一位可为 X）。", hint_en: "Use digits and letters only (the last character of an ID number may be X).";
    FormCertificateNumberCheckDigit = "form.certificate_number_check_digit", Error,
        zh: "证件号码校验位不正确，可能有输入错误。", en: "The certificate number's check character is wrong; it may contain a typo.",
        hint_zh: "请逐位核对证件号码。", hint_en: "Check the number character by character.";
    FormCertificateNumberBirthDate = "form.certificate_number_birth_date", Error,
        zh: "证件号码中的出生日期无效。", en: "The birth date inside the certificate number is not a valid date.",
        hint_zh: "请核对证件号码第 7 至 14 位。", hint_en: "Check characters 7 to 14 of the number.";
    FormCertificateNumberRegion = "form.certificate_number_region", Error,
        zh: "证件号码中的地区代码无效。", en: "The region code inside the certificate number is not valid.",
        hint_zh: "请核对证件号码前 6 位，并确认证件类型选择正确。", hint_en: "Check the first 6 characters and that the right certificate type is chosen.";
    FormUsccInvalid = "form.uscc_invalid", Error,
        zh: "统一社会信用代码无效（{detail}）。", en: "The unified social credit code is not valid ({detail_en}).",
        hint_zh: "统一社会信用代码为 18 位，请对照营业执照核对。", hint_en: "The code has 18 characters; copy it from the business licence.";
    FormMobileInvalid = "form.mobile_invalid", Error,
        zh: "手机号码无效，应为 11 位中国大陆手机号。", en: "The mobile number is not valid; an 11-digit mainland China mobile number is required.",
        hint_zh: "请核对手机号码。", hint_en: "Check the mobile number.";
    FormEmailInvalid = "form.email_invalid", Error,
        zh: "电子邮箱格式不正确。", en: "The email address is not valid.",
        hint_zh: "请核对邮箱地址，或留空。", hint_en: "Check the address, or leave it empty.";
    FormDateInvalid = "form.date_invalid", Error,
        zh: "{label}不是有效日期（应为 YYYY-MM-DD）。", en: "{label_en} is not a valid date (YYYY-MM-DD).",
        hint_zh: "请重新选择日期。", hint_en: "Pick the date again.";
    FormDateOutOfRange = "form.date_out_of_range", Error,
        zh: "{label}不合理：{detail}。", en: "{label_en} is implausible: {detail_en}.",
        hint_zh: "请核对日期。", hint_en: "Check the date.";
    FormGenderMismatch = "form.gender_mismatch", Error,
        zh: "性别与证件号码不一致。", en: "The gender does not match the certificate number.",
        hint_zh: "证件号码第 17 位为奇数表示男性，偶数表示女性。", hint_en: "Character 17 of the number is odd for men and even for women.";
    FormBirthDateMismatch = "form.birth_date_mismatch", Error,
        zh: "出生日期与证件号码不一致（证件号码为 {expected}）。", en: "The birth date does not match the certificate number ({expected}).",
        hint_zh: "请按证件填写出生日期。", hint_en: "Enter the birth date as on the certificate.";
    FormWorkingYearsExceedAge = "form.working_years_exceed_age", Error,
        zh: "会计工作年限 {years} 年超过可能的上限 {max} 年（年龄减 16）。", en: "{years} years of accounting work exceed the possible maximum of {max} (age minus 16).",
        hint_zh: "请按实际情况填写会计工作年限。", hint_en: "Enter your actual years of accounting work.";
    FormWorkingYearsLocked = "form.working_years_locked", Error,
        zh: "持有原会计从业资格证书人员的会计工作年限由系统自动获取（{years} 年），不能修改。", en: "For holders of the original certificate the working years come from the archive ({years}) and cannot be changed.",
        hint_zh: "请保留系统带出的年限。", hint_en: "Keep the years taken from the archive.";
    FormIdentityMismatch = "form.identity_mismatch", Error,
        zh: "{label}必须与i厦门实名信息一致。", en: "{label_en} must equal your iXiamen identity.",
        hint_zh: "身份信息以i厦门注册信息为准；如需更正请联系i厦门。", hint_en: "iXiamen's registration prevails; contact iXiamen to correct it.";
    FormNamePinyin = "form.name_pinyin", Warning,
        zh: "姓名“{name}”中含有拼音，通常是生僻字无法在线登记所致。", en: "The name “{name}” contains pinyin, usually because a rare character could not be registered online.",
        hint_zh: "生僻字目前只能线下更正，可正常提交。", hint_en: "Rare characters can only be corrected offline; you can submit as is.";
    FormCertificateElsewhere = "form.certificate_elsewhere", Warning,
        zh: "原会计证书不属于厦门的，会计档案从本次采集年度起计算。", en: "With a certificate issued outside Xiamen, the Xiamen archive counts from this collection year.",
        hint_zh: "如需保留原档案，请先在原发证地采集，再通过平台转入厦门。", hint_en: "To keep the old archive, collect in the original area first and transfer it to Xiamen through the platform.";

    // ---- the HTTP API (api.md) ----
    AuthRequired = "auth.required", Error,
        zh: "请先通过i厦门登录。", en: "Sign in through iXiamen first.",
        hint_zh: "请重新登录。", hint_en: "Sign in again.";
    AuthInvalidToken = "auth.invalid_token", Error,
        zh: "登录状态无效或已过期。", en: "The sign-in is invalid or has expired.",
        hint_zh: "请重新通过i厦门登录。", hint_en: "Sign in through iXiamen again.";
    ArchiveNotFound = "archive.not_found", Error,
        zh: "未找到您的历史会计档案。", en: "No historical accounting archive was found for you.",
        hint_zh: "新申请人请直接填写信息。", hint_en: "New applicants fill in the form themselves.";
    ArchiveUnavailable = "archive.unavailable", Error,
        zh: "暂时无法查询历史档案。", en: "The historical archive cannot be looked up right now.",
        hint_zh: "请稍后再试。", hint_en: "Try again later.";
    SubmissionNotFound = "submission.not_found", Error,
        zh: "未找到该提交记录。", en: "No such submission.",
        hint_zh: "请从“我的提交”中查看。", hint_en: "Look it up under “My submissions”.";
    SubmissionIdempotencyKey = "submission.idempotency_key", Error,
        zh: "缺少或无效的 Idempotency-Key 请求头（8 到 128 个可见 ASCII 字符）。", en: "Missing or invalid Idempotency-Key header (8 to 128 visible ASCII characters).",
        hint_zh: "请刷新页面后重试。", hint_en: "Reload the page and try again.";
    SubmissionAlreadySubmitted = "submission.already_submitted", Error,
        zh: "您已提交过信息采集（提交编号 {id}）。信息修改模块尚未开放，开放时间另行通知。", en: "You have already submitted (submission {id}). Information modification is not open yet; its opening time will be announced.",
        hint_zh: "可在“我的提交”中查看进度。", hint_en: "Follow its progress under “My submissions”.";
    SubmissionIdempotencyConflict = "submission.idempotency_conflict", Error,
        zh: "同一提交编号已用于不同的内容。", en: "The same idempotency key was used for different content.",
        hint_zh: "请刷新页面后重新提交。", hint_en: "Reload the page and submit again.";
    ModificationNotOpen = "modification.not_open", Error,
        zh: "信息修改模块尚未开放，开放时间另行通知。", en: "Information modification is not open yet; its opening time will be announced.",
        hint_zh: "请留意通知。", hint_en: "Watch for the announcement.";
    RequestMalformed = "request.malformed", Error,
        zh: "请求格式错误：{detail}。", en: "Malformed request: {detail}.",
        hint_zh: "请刷新页面后重试。", hint_en: "Reload the page and try again.";
    RequestNotFound = "request.not_found", Error,
        zh: "请求的地址不存在。", en: "No such address.",
        hint_zh: "请检查地址。", hint_en: "Check the address.";
    RequestMethodNotAllowed = "request.method_not_allowed", Error,
        zh: "该地址不支持此请求方法。", en: "This method is not allowed here.",
        hint_zh: "请检查请求方法。", hint_en: "Check the request method.";
    RequestTooLarge = "request.too_large", Error,
        zh: "上传内容过大（上限 {limit}）。", en: "The upload is too large (limit {limit}).",
        hint_zh: "请缩小文件后重试。", hint_en: "Shrink the files and try again.";
    RequestNotMultipart = "request.not_multipart", Error,
        zh: "请求须为 multipart/form-data。", en: "The request must be multipart/form-data.",
        hint_zh: "请使用页面提交。", hint_en: "Submit through the page.";
    RequestRateLimited = "request.rate_limited", Error,
        zh: "请求过于频繁，请 {seconds} 秒后再试。", en: "Too many requests; try again in {seconds} seconds.",
        hint_zh: "请稍候再试。", hint_en: "Wait a moment and try again.";
    ServerInternal = "server.internal", Error,
        zh: "服务器内部错误。", en: "Internal server error.",
        hint_zh: "请稍后重试；如持续出现请联系咨询电话。", hint_en: "Try again later; if it persists, call the hotline.";
    ServerUnavailable = "server.unavailable", Error,
        zh: "服务暂时不可用。", en: "The service is temporarily unavailable.",
        hint_zh: "您的数据未丢失，请稍后重试。", hint_en: "Nothing was lost; try again later.";
    // ---- upload budget, part headers, timeouts, duplicate headers (issue 11, parts 4 and 6) ----
    RequestTimeout = "request.timeout", Error,
        zh: "请求超时，服务器未能在限定时间内收到完整请求。", en: "The request timed out: the server did not receive the whole request in time.",
        hint_zh: "请检查网络后重试；同一份材料不会被重复提交。", hint_en: "Check the connection and try again; the same bundle is never submitted twice.";
    RequestUploadTooSlow = "request.upload_too_slow", Error,
        zh: "上传过慢或已中断（低于每秒 {rate}），已停止接收。", en: "The upload was too slow or stalled (below {rate} per second) and was stopped.",
        hint_zh: "请在网络较好时重新提交；同一份材料不会被重复提交。", hint_en: "Submit again on a better connection; the same bundle is never submitted twice.";
    RequestTooManyUploads = "request.too_many_uploads", Error,
        zh: "同时进行的上传过多，请 {seconds} 秒后再试。", en: "Too many uploads at once; try again in {seconds} seconds.",
        hint_zh: "请等当前的上传完成后再提交，不要同时打开多个页面提交。", hint_en: "Wait for the current upload to finish; do not submit from several pages at once.";
    RequestPartHeaderTooLarge = "request.part_header_too_large", Error,
        zh: "上传内容中的分段头过大或过多（上限 {limit}）。", en: "A part header of the upload is too large or has too many lines (limit {limit}).",
        hint_zh: "请使用采集页面提交，不要手工构造请求。", hint_en: "Submit through the collection page rather than a hand-made request.";
    SubmissionIdempotencyKeyRepeated = "submission.idempotency_key_repeated", Error,
        zh: "请求中有多个 Idempotency-Key 请求头，只能有一个。", en: "The request has more than one Idempotency-Key header; exactly one is allowed.",
        hint_zh: "请刷新页面后重试。", hint_en: "Reload the page and try again.";
    /// The browser could not reach the server (widget only).
    NetworkUnavailable = "network.unavailable", Error,
        zh: "网络连接中断，无法连接服务器。", en: "The network connection was lost; the server cannot be reached.",
        hint_zh: "请检查网络后点击“重试”；同一份材料不会被重复提交。", hint_en: "Check the connection and press Retry; the same bundle is never submitted twice.";
}

impl Code {
    /// The stable `area.problem` string.
    pub fn as_str(self) -> &'static str {
        self.entry().code
    }

    /// The code's area: the part before the dot (`photo`, `form`, …).
    pub fn area(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or_default()
    }

    /// Looks a code up by its string.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        let s = String::deserialize(d)?;
        Code::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown problem code {s:?}")))
    }
}

/// The catalog as the Markdown table in `docs/codes.md`.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Problem codes\n\n\
         Generated from `rules/src/catalog.rs` by `intake codes`; a test fails when this file and the catalog differ \
         (regenerate with `UPDATE_CODES=1 cargo test -p intake-rules catalog`).\n\n\
         Codes are stable `area.problem` strings: the widget, the backend's error envelope and `intake check --json` \
         all use them. Placeholders in `{braces}` are filled with the numbers that matter.\n\n\
         | code | severity | message (zh-CN) | message (English) | hint (English) |\n| --- | --- | --- | --- | --- |\n",
    );
    for code in Code::ALL {
        let e = code.entry();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            e.code,
            e.severity.as_str(),
            e.zh.replace('|', "\\|"),
            e.en.replace('|', "\\|"),
            e.hint_en.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            let (area, problem) = s.split_once('.').expect("area.problem");
            assert!(!area.is_empty() && !problem.is_empty(), "{s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'), "{s} must be lowercase ascii");
            assert_eq!(Code::parse(s), Some(*code));
            let e = code.entry();
            for text in [e.zh, e.en, e.hint_zh, e.hint_en] {
                assert!(!text.trim().is_empty(), "{s} has an empty text");
            }
        }
    }

    #[test]
    fn issue_listed_codes_exist() {
        for s in [
            "file.empty",
            "file.unsupported_format",
            "file.too_large",
            "image.corrupt",
            "image.dimensions_over_limit",
            "photo.too_small",
            "photo.background_colour",
            "photo.background_not_uniform",
            "photo.no_subject",
            "photo.head_position",
            "photo.too_dark",
            "photo.too_bright",
            "photo.blurry",
            "photo.not_colour",
            "document.too_small",
            "document.blurry",
            "document.glare",
            "document.same_image_both_sides",
            "document.sides_swapped",
        ] {
            assert!(Code::parse(s).is_some(), "missing code {s}");
        }
        assert_eq!(Code::DocumentSidesSwapped.entry().severity, Severity::Warning);
    }

    #[test]
    fn serde_round_trip_uses_the_string() {
        let json = serde_json::to_string(&Code::PhotoBlurry).unwrap();
        assert_eq!(json, "\"photo.blurry\"");
        assert_eq!(serde_json::from_str::<Code>(&json).unwrap(), Code::PhotoBlurry);
        assert!(serde_json::from_str::<Code>("\"photo.nope\"").is_err());
    }

    /// What the checks pass for each placeholder. Where a value is language-specific the code
    /// renders each language with its own value (the background colour; an English-only parser
    /// detail), so the pair is (value in zh-CN text, value in English text).
    fn sample(code: Code, name: &str) -> Option<(&'static str, &'static str)> {
        let same = |v| Some((v, v));
        match name {
            "detected" if code != Code::PhotoBackgroundColour => same("HEIC"),
            "label" => same("单位名称"),
            "label_en" => same("Unit name"),
            "action" => same("填写"),
            "action_en" => same("Fill it in"),
            "name" => same("工作证明"),
            "name_en" => same("work certificate"),
            "field" => same("工作证明"),
            "field_en" => same("work certificate"),
            "first" => same("居民身份证人像面"),
            "second" => same("居民身份证国徽面"),
            "first_en" => same("ID card portrait side"),
            "second_en" => same("ID card emblem side"),
            "detected" => Some(("蓝色", "blue")),
            "allowed" => Some(("白色", "white")),
            "detail" => Some(("校验码不正确", "expected `,` at line 1 column 9")),
            "detail_en" => same("the check character is wrong"),
            "what" => Some(("对象数", "JavaScript, Launch")),
            "what_en" => same("objects"),
            "encoding" => same("arithmetic coding"),
            "accepted" => same("JPEG, PNG"),
            "id" => same("XMKJ-7Q2M-4F8D"),
            "expected" => same("1990-03-07"),
            "size" | "limit" | "rate" => same("200 KB"),
            "min" | "max" => same("3"),
            "percent" | "ratio" | "tolerance" => same("12%"),
            "actual" => same("0.71"),
            "value" => same("42"),
            "width" | "height" | "min_width" | "min_height" | "max_width" | "max_height" | "target_width"
            | "target_height" | "min_long" | "min_short" | "length" | "count" | "seconds" | "years" | "orientation" => {
                same("6")
            }
            _ => None,
        }
    }

    fn placeholders(template: &str) -> Vec<&str> {
        template.split('{').skip(1).filter_map(|s| s.split_once('}').map(|(name, _)| name)).collect()
    }

    fn is_cjk(c: char) -> bool {
        matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
    }

    fn is_cjk_punctuation(c: char) -> bool {
        matches!(c, '\u{3000}'..='\u{303F}' | '\u{FF00}'..='\u{FFEF}' | '\u{201C}' | '\u{201D}' | '\u{2014}' | '\u{2026}' | '\u{00B7}')
    }

    fn sentences(text: &str) -> Vec<String> {
        text.split(['。', '！', '？', '；'])
            .flat_map(|s| s.split(". "))
            .map(|s| s.trim().trim_end_matches('.').to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Renders every message and hint of the catalog in both languages with the arguments the
    /// checks pass, and holds them to one style (issue 13).
    #[test]
    fn every_message_in_both_languages_keeps_one_style() {
        const LABELS: [&str; 10] =
            ["label", "label_en", "name", "name_en", "field", "field_en", "first", "first_en", "second", "second_en"];
        let mut faults = Vec::new();
        for code in Code::ALL {
            let e = code.entry();
            let names: Vec<&str> = [e.zh, e.en, e.hint_zh, e.hint_en].iter().flat_map(|t| placeholders(t)).collect();
            let mut zh_args: Vec<(&str, &dyn fmt::Display)> = Vec::new();
            let mut en_args: Vec<(&str, &dyn fmt::Display)> = Vec::new();
            let values: Vec<(&str, (&'static str, &'static str))> =
                names.iter().filter_map(|n| sample(*code, n).map(|v| (*n, v))).collect();
            for (n, (zh, en)) in &values {
                zh_args.push((n, zh));
                en_args.push((n, en));
            }
            let zh = crate::report::Problem::new("f", *code, &zh_args);
            let en = crate::report::Problem::new("f", *code, &en_args);
            let rendered =
                [("zh", &zh.message.zh), ("hint_zh", &zh.hint.zh), ("en", &en.message.en), ("hint_en", &en.hint.en)];
            for (which, text) in rendered {
                let c = e.code;
                if text.contains('{') || text.contains('}') {
                    faults.push(format!("{c} {which}: a placeholder is left over: {text}"));
                }
                if which.ends_with("zh") {
                    let chars: Vec<char> = text.chars().collect();
                    for (i, w) in chars.iter().enumerate() {
                        if !w.is_whitespace() || i == 0 || i + 1 == chars.len() {
                            continue;
                        }
                        let (a, b) = (chars[i - 1], chars[i + 1]);
                        let wide = |c: char| is_cjk(c) || is_cjk_punctuation(c);
                        if (wide(a) && wide(b)) || is_cjk_punctuation(a) || is_cjk_punctuation(b) {
                            faults.push(format!("{c} {which}: a space between {a:?} and {b:?}: {text}"));
                        }
                    }
                } else {
                    // Quoted user data (a name, a refused value) may be Chinese in English text.
                    let mut quoted = false;
                    for ch in text.chars() {
                        match ch {
                            '“' => quoted = true,
                            '”' => quoted = false,
                            ch if !quoted && (is_cjk(ch) || is_cjk_punctuation(ch)) => {
                                faults.push(format!("{c} {which}: Chinese in English text: {text}"));
                                break;
                            }
                            _ => {}
                        }
                    }
                }
            }
            for (lang, message, hint) in [("zh", &zh.message.zh, &zh.hint.zh), ("en", &en.message.en, &en.hint.en)] {
                let all: Vec<String> = sentences(message).into_iter().chain(sentences(hint)).collect();
                let unique: HashSet<&String> = all.iter().collect();
                if unique.len() != all.len() {
                    faults.push(format!("{} {lang}: a sentence is repeated: {message} {hint}", e.code));
                }
            }
            for label in LABELS {
                let needle = format!("{{{label}}}");
                if (e.zh.contains(&needle) && e.hint_zh.contains(&needle))
                    || (e.en.contains(&needle) && e.hint_en.contains(&needle))
                {
                    faults.push(format!("{}: the hint repeats {needle} the message already names", e.code));
                }
            }
        }
        assert!(faults.is_empty(), "{} style faults:\n{}", faults.len(), faults.join("\n"));
    }

    #[test]
    fn the_style_check_catches_what_issue_13_lists() {
        // The old texts, as they were, must fail the checks above.
        assert!(is_cjk('和') && is_cjk_punctuation('。') && is_cjk_punctuation('“'));
        let old = "单位名称为必填项。 请填写单位名称。";
        assert_eq!(sentences(old), vec!["单位名称为必填项", "请填写单位名称"]);
        let repeated = "请填写单位名称。请填写单位名称。";
        assert_eq!(sentences(repeated).len(), 2);
        assert_eq!(sentences(repeated).iter().collect::<HashSet<_>>().len(), 1);
        assert_eq!(placeholders("{first} 和 {second}"), vec!["first", "second"]);
    }

    #[test]
    fn docs_codes_md_matches_the_catalog() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/codes.md");
        let expected = markdown();
        if std::env::var_os("UPDATE_CODES").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/codes.md is out of date; run UPDATE_CODES=1 cargo test -p intake-rules catalog"
        );
    }
}
