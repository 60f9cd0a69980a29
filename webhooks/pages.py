from django.http import HttpResponse


def webhook_list_page(request, base_id, table_id):
    return HttpResponse("")


webhook_page = webhook_action = webhook_list_page
